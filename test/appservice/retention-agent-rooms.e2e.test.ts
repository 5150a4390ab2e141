/**
 * Retention of agent rooms (#20 with #19): the rooms where agents' ghosts
 * show delegation steps hold no conversation rows, so the purge finds them
 * through the appservice's record of them and redacts their events past
 * the `agent` policy on the homeserver; recent steps stay, a second run
 * changes nothing, and what the homeserver refuses stays and is reported.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { AGENT_MESSAGE_KEY } from '../../appservice/agent-rooms/agent-message.ts';
import { agentRooms, appserviceEvents } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { bracketed, hasToolResult, scriptAgents } from '../agents/delegation-support.ts';
import { runPurge } from './retention-support.ts';
import { ghostOf, inviteAgent, SERVER, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

const DAY_MS = 86_400_000;

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };

beforeAll(async () => {
  w = await startMatrixWorld({ homeserver: { rateLimit: false }, config: { providers: { streamIdleTimeoutMs: 60_000 } } });
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const admin = (body: unknown) => w.mosaic.api(w.mosaic.adminToken, 'PUT', '/api/admin/retention', body);

/** The delegation steps in an agent room as the homeserver holds them, oldest first, with whether each is redacted. */
function steps(roomId: string): Array<{ eventId: string; redacted: boolean; ts: number }> {
  return w.hs.admin
    .messages(roomId)
    .filter((e) => (e.unsigned as { redacted_because?: unknown } | undefined)?.redacted_because || (e.content as Record<string, unknown>)[AGENT_MESSAGE_KEY] !== undefined)
    .map((e) => ({ eventId: String(e.event_id), redacted: Boolean((e.unsigned as { redacted_because?: unknown } | undefined)?.redacted_because), ts: Number(e.origin_server_ts) }));
}
const redactions = (roomId: string) => w.hs.admin.messages(roomId, 'm.room.redaction').length;

describe('agent rooms under the agent policy', () => {
  let agentRoom: string;
  let oldSteps: string[];
  let recentSteps: string[];

  it('a purge redacts the steps older than the agent retention, keeps the recent ones, and shows the counts in the job detail', async () => {
    const create = async (body: Record<string, unknown>) => {
      const res = await w.mosaic.api<{ id: string }>(alice.token, 'POST', '/api/agents', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const scout = await create({ name: 'scout', systemPrompt: 'You are SCOUT-B.' });
    const captain = await create({ name: 'captain', systemPrompt: 'You are CAPTAIN-A.', delegatesTo: ['scout'] });
    scriptAgents(w.mosaic, {
      'CAPTAIN-A': ({ body }) => (hasToolResult(body) ? { text: `The scout says: ${bracketed(body)}` } : { toolCall: { name: 'delegate', arguments: { agent: 'scout', task: 'Count the stars.' } } }),
      'SCOUT-B': () => ({ text: 'Counted: [[many stars]]' }),
    });
    // Each exchange in a conversation of its own (the captain delegates when its history holds no result yet); the pair shares one agent room.
    const ask = async (text: string, stepsBefore: number) => {
      const room = await inviteAgent(w, alice, captain.id);
      const asked = await say(alice, room, text);
      await waitForAnswer(alice, room, ghostOf(captain.id), asked);
      return until('the exchange in the agent room', () => {
        const found = w.hs.admin.resolveAlias(`#mosaic-agents-${[captain.id, scout.id].sort().join('-')}:${SERVER}`);
        return found && steps(found).length >= stepsBefore + 3 ? found : null;
      }, 20_000);
    };

    agentRoom = await ask('Count the stars please.', 0);
    oldSteps = steps(agentRoom).map((s) => s.eventId);
    expect(oldSteps).toHaveLength(3);
    // Recorded when created, so the purge finds it after a restart and on any replica.
    expect(await db().select().from(agentRooms).where(eq(agentRooms.roomId, agentRoom))).toHaveLength(1);
    // Four months ago: past the configured 90 days of the agent kind.
    expect(w.hs.admin.backdate(agentRoom, oldSteps, 120 * DAY_MS)).toBe(3);
    await ask('Count them again, please.', 3);
    recentSteps = steps(agentRoom).map((s) => s.eventId).filter((id) => !oldSteps.includes(id));
    expect(recentSteps).toHaveLength(3);

    const detail = await runPurge(w.mosaic);
    expect(detail.failedReason).toBeNull();
    expect(detail.returnValue).toMatchObject({ agentRoomsChecked: 1, agentRoomEvents: 3, agentRoomEventsFailed: 0, messagesDeleted: 0 });
    expect(detail.progress).toMatchObject({ agentRoomsChecked: 1, agentRoomEvents: 3 });

    const after = steps(agentRoom);
    for (const id of oldSteps) expect(after.find((s) => s.eventId === id)?.redacted, id).toBe(true);
    for (const id of recentSteps) expect(after.find((s) => s.eventId === id)?.redacted, id).toBe(false);
    for (const e of w.hs.admin.timeline(agentRoom).filter((x) => oldSteps.includes(String(x.event_id)))) expect(e.content).toEqual({});
    // The event journal's copies of the old steps are gone too.
    expect(await db().select().from(appserviceEvents).where(inArray(appserviceEvents.eventId, oldSteps))).toEqual([]);
  });

  it('running the purge again changes nothing', async () => {
    const before = redactions(agentRoom);
    const detail = await runPurge(w.mosaic);
    expect(detail.returnValue).toMatchObject({ agentRoomsChecked: 1, agentRoomEvents: 0, agentRoomEventsFailed: 0 });
    expect(redactions(agentRoom)).toBe(before);
    for (const id of recentSteps) expect(steps(agentRoom).find((s) => s.eventId === id)?.redacted, id).toBe(false);
  });

  it('an admin override of the agent kind applies; what the homeserver refuses stays, is reported, and the next run finishes it', async () => {
    expect((await admin({ scope: 'kind', kind: 'agent', days: 7 })).status).toBe(200);
    w.hs.admin.backdate(agentRoom, recentSteps, 10 * DAY_MS);
    const refusal = w.hs.redactFaults.refuse({ status: 403, errcode: 'M_FORBIDDEN' });
    try {
      const refused = await runPurge(w.mosaic);
      expect(refused.state).toBe('completed');
      expect(refused.returnValue).toMatchObject({ agentRoomsChecked: 1, agentRoomEvents: 0, agentRoomEventsFailed: 3 });
      for (const id of recentSteps) expect(steps(agentRoom).find((s) => s.eventId === id)?.redacted, id).toBe(false);
    } finally {
      refusal.lift();
    }
    const finished = await runPurge(w.mosaic);
    expect(finished.returnValue).toMatchObject({ agentRoomsChecked: 1, agentRoomEvents: 3, agentRoomEventsFailed: 0 });
    for (const s of steps(agentRoom)) expect(s.redacted, s.eventId).toBe(true);
    const again = await runPurge(w.mosaic);
    expect(again.returnValue).toMatchObject({ agentRoomEvents: 0, agentRoomEventsFailed: 0 });
    expect((await admin({ scope: 'kind', kind: 'agent', days: 'default' })).status).toBe(200);
  });
});
