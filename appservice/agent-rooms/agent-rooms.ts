/**
 * The Matrix window onto delegation: each pair of agents gets its own room,
 * created lazily the first time one hands the other work, where their
 * ghosts post each step (hand-over, acknowledgement, result) as
 * `m.room.message` with a readable body and `mosaic.agent_message`. The
 * person whose conversation started the exchange is invited to watch.
 * Delegation works the same without Matrix: this only shows it.
 *
 * Room and alias: `#mosaic-agents-<a>-<b>:<server>` (agent ids sorted) for
 * a pair of the person's own agents. A pair with a system agent (shared by
 * everyone) gets the person's own room, `…-<a>-<b>-u<id>`, so one person
 * never watches another's requests. Power levels: bot 100, observers 50,
 * agents 0. Never encrypted (the appservice cannot read encrypted rooms yet).
 */
import { createHash } from 'node:crypto';
import type { DelegationEvent } from '../../src/agents/delegation/delegation-events.ts';
import type { Logger } from '../../src/logging.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import { isMatrixError, type MatrixClient } from '../transport/matrix-client.ts';
import { AGENT_ROOM_STATE, agentMessageContent, agentRoomLocalpart } from './agent-message.ts';
import type { ActiveExchanges } from './agent-room-inbound.ts';
import type { AgentRoomStore } from './agent-room-store.ts';

export interface AgentRoomsDeps {
  client: MatrixClient;
  ghosts: Ghosts;
  botUserId: string;
  serverName: string;
  /** The Matrix ids linked to a Mosaic user (the observers). */
  matrixUsersOf(userId: string): Promise<string[]>;
  /** Which exchange each room shows now, for the people interrupting or stopping it there. */
  active: ActiveExchanges;
  /** Where each room is recorded, so retention finds every agent room (after a restart, on any replica). */
  store: Pick<AgentRoomStore, 'record'>;
  logger: Logger;
}

/** Hand-overs whose later steps may still come, remembered for `reply_to_event_id` (bounded). */
const MAX_OPEN_HANDOVERS = 10_000;

export class AgentRooms {
  private readonly roomIds = new Map<string, string>();
  private readonly handovers = new Map<string, { roomId: string; eventId: string }>();
  /** One chain, so each step is sent after the one before it (an ack never overtakes its hand-over). */
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly d: AgentRoomsDeps) {}

  /** Takes a delegation step; sent in order, in the background. A failure is logged and never reaches the delegation. */
  handle(event: DelegationEvent): void {
    this.tail = this.tail.then(() =>
      this.mirror(event).catch((err: unknown) => {
        this.d.logger.warn({ channel: 'matrix', event: 'agent_room.send_failed', delegationId: event.delegationId, phase: event.phase, err: (err as Error).message }, 'could not show a delegation step in its agent room');
      }),
    );
  }

  /** Resolves when every step taken so far has been sent (or has failed). */
  idle(): Promise<void> {
    return this.tail;
  }

  /** The alias of a pair's room for the person (see the header). */
  aliasFor(event: Pick<DelegationEvent, 'from' | 'to' | 'audience' | 'userId'>): string {
    const agents = membersOf(event);
    const shared = agents.some((a) => a.ownerId !== event.userId);
    const person = shared ? `-u${createHash('sha256').update(event.userId).digest('hex').slice(0, 12)}` : '';
    return `#${agentRoomLocalpart(agents.map((a) => a.id))}${person}:${this.d.serverName}`;
  }

  private async mirror(event: DelegationEvent): Promise<void> {
    const open = this.handovers.get(event.delegationId);
    const built = agentMessageContent(event, open?.eventId);
    if (!built) return;
    const roomId = open?.roomId ?? (await this.roomFor(event));
    // The hand-over from the agent the person talks to has ended: the room has nothing running to interrupt.
    const ended = event.depth === 1 && (event.phase === 'completed' || event.phase === 'refused' || event.phase === 'queued' || event.phase === 'broadcast');
    if (ended) await this.d.active.clear(roomId);
    else await this.d.active.set(roomId, { conversationId: event.conversationId, userId: event.userId });
    const ghost = await this.d.ghosts.ensureById(built.senderAgentId);
    if (!ghost) return;
    await this.d.client.join(roomId, ghost);
    // Deterministic per step: a step sent again is the same event.
    const eventId = await this.d.client.sendEvent(roomId, 'm.room.message', `mosaic-agentmsg-${event.delegationId}-${event.phase}`, built.content, ghost);
    if (event.phase === 'handed') {
      if (this.handovers.size >= MAX_OPEN_HANDOVERS) this.handovers.delete(this.handovers.keys().next().value!);
      this.handovers.set(event.delegationId, { roomId, eventId });
    } else if (event.phase !== 'accepted') {
      this.handovers.delete(event.delegationId);
    }
  }

  /** The pair's room, created on first use; every replica finds the same one through the alias. */
  private async roomFor(event: DelegationEvent): Promise<string> {
    const alias = this.aliasFor(event);
    const cached = this.roomIds.get(alias);
    if (cached) return cached;
    const known = await this.d.client.resolveAlias(alias);
    if (known) {
      // Recorded again once per process: a room made before rooms were recorded is found by retention from its next use on.
      await this.d.store.record(known, alias);
      this.roomIds.set(alias, known);
      return known;
    }
    const members = membersOf(event).sort((x, y) => x.id.localeCompare(y.id));
    const ghosts = await Promise.all(members.map((a) => this.d.ghosts.ensureById(a.id)));
    const agents = ghosts.filter((g): g is string => g !== null);
    const observers = (await this.d.matrixUsersOf(event.userId)).filter((u) => !this.d.ghosts.isOurs(u));
    const users: Record<string, number> = { [this.d.botUserId]: 100 };
    for (const g of agents) users[g] = 0;
    for (const o of observers) users[o] = 50;
    const names = members.map((a) => a.name);
    const listed = names.length === 2 ? `${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    let roomId: string;
    try {
      roomId = await this.d.client.createRoom({
        room_alias_name: alias.slice(1, alias.indexOf(':')),
        name: `Agents: ${names.join(' ↔ ')}`,
        topic: `What ${listed} hand each other while answering. Shown by Mosaic; the agents never read this room.`,
        preset: 'private_chat',
        invite: [...agents, ...observers],
        power_level_content_override: { users, users_default: 0, events_default: 0, state_default: 50, invite: 50, kick: 100, ban: 100, redact: 50 },
        initial_state: [{ type: AGENT_ROOM_STATE, state_key: '', content: { agents: members.map((a) => a.id) } }],
      });
    } catch (err) {
      // Another replica created it first.
      if (!isMatrixError(err, 'M_ROOM_IN_USE')) throw err;
      const found = await this.d.client.resolveAlias(alias);
      if (!found) throw err;
      roomId = found;
    }
    await this.d.store.record(roomId, alias);
    this.roomIds.set(alias, roomId);
    this.d.logger.info({ channel: 'matrix', event: 'agent_room.created', roomId, alias }, 'agent room created');
    return roomId;
  }

  /** Whether a room is an agent room (its marker state is there). */
  async isAgentRoom(roomId: string): Promise<boolean> {
    if ([...this.roomIds.values()].includes(roomId)) return true;
    try {
      return (await this.d.client.getState(roomId, AGENT_ROOM_STATE, '', this.d.botUserId)) !== null;
    } catch (err) {
      if (isMatrixError(err) && (err.status === 403 || err.status === 404)) return false;
      throw err;
    }
  }
}

/** The agents of a step's room: the pair, or the sender and everyone a broadcast addresses. */
function membersOf(event: Pick<DelegationEvent, 'from' | 'to' | 'audience'>): DelegationEvent['from'][] {
  const all = [event.from, ...(event.audience ?? [event.to])];
  return all.filter((a, i) => all.findIndex((b) => b.id === a.id) === i);
}
