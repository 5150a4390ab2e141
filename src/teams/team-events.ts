/**
 * "A team changed": the seam where channels react — the Matrix side invites
 * a new member to the team's Space and its shared rooms, removes a member
 * who left, moves a room between team Spaces when it is shared or unshared,
 * closes a deleted team's Space.
 *
 * Every change is a job (`team-changed`), so the reaction happens once, is
 * retried while the homeserver is away, and also follows changes made by the
 * CLI in another process. Listeners must be idempotent (a retried job runs
 * them again) and read the current state (a change may be undone before its
 * job runs).
 */
import { z } from 'zod';
import { ChannelsReady } from '../channels-ready.ts';
import { defineJob } from '../jobs/job-definition.ts';

export const TEAM_CHANGES = ['team-created', 'team-deleted', 'member-added', 'member-removed', 'shared', 'unshared'] as const;

export const teamChange = z
  .object({
    change: z.enum(TEAM_CHANGES),
    teamId: z.uuid(),
    /** member-added / member-removed: who. */
    userId: z.uuid().optional(),
    /** shared / unshared: which conversation. */
    conversationId: z.uuid().optional(),
    /** shared: the team it was shared with before (it leaves that team's Space). */
    previousTeamId: z.uuid().nullable().optional(),
    /** team-deleted: the members it had and the conversations it shared (the rows are gone when the job runs). */
    memberIds: z.array(z.uuid()).max(10_000).optional(),
    conversationIds: z.array(z.uuid()).max(100_000).optional(),
    /** When the change was made (ISO): with the ids, it names this change (idempotent sends). */
    at: z.iso.datetime(),
  })
  .strict();
export type TeamChange = z.infer<typeof teamChange>;

export const TEAM_CHANGED_JOB = defineJob({
  name: 'team-changed',
  queue: 'mosaic:teams',
  description: 'Lets the chat channel follow a team change (Space invites and removals, shared rooms moving between Spaces).',
  payload: teamChange,
  attempts: 8,
  backoff: { baseMs: 2000, maxMs: 120_000 },
  concurrency: 2,
});

export type TeamListener = (change: TeamChange) => Promise<void>;

export class TeamEvents extends ChannelsReady {
  private readonly listeners: TeamListener[] = [];

  on(listener: TeamListener): void {
    this.listeners.push(listener);
  }

  /** Runs the listeners; a failing one fails the job, which retries them all. */
  async deliver(change: TeamChange): Promise<{ listeners: number }> {
    await this.channelsReady();
    for (const l of this.listeners) await l(change);
    return { listeners: this.listeners.length };
  }
}
