/**
 * People in an agent room. The person whose exchange is running there may
 * interrupt it (any message: the agents' next steps see it, marked as from
 * a human, and must acknowledge it) or halt it (`!stop`: the whole answer
 * and every delegation under it stop). Mosaic says in the room what it did;
 * anyone else's message changes nothing.
 */
import type { Actor } from '../../src/identity/actor.ts';
import type { Logger } from '../../src/logging.ts';
import { valkeyKey, type Redis } from '../../src/valkey/client.ts';
import type { MatrixEvent } from '../translation/translate-inbound.ts';

export interface ActiveExchange {
  conversationId: string;
  userId: string;
}

/** How long a room remembers the exchange last shown in it (a running answer renews it with each step). */
const ACTIVE_TTL_SECONDS = 3600;

/** Which exchange an agent room is showing now, shared by every replica (Valkey). */
export class ActiveExchanges {
  constructor(
    private readonly valkey: Redis,
    private readonly keyPrefix: string,
  ) {}

  private key(roomId: string): string {
    return valkeyKey(this.keyPrefix, 'agent-room', 'active', roomId);
  }

  async set(roomId: string, active: ActiveExchange): Promise<void> {
    await this.valkey.set(this.key(roomId), JSON.stringify(active), 'EX', ACTIVE_TTL_SECONDS);
  }

  async clear(roomId: string): Promise<void> {
    await this.valkey.del(this.key(roomId));
  }

  async get(roomId: string): Promise<ActiveExchange | null> {
    const raw = await this.valkey.get(this.key(roomId));
    if (!raw) return null;
    try {
      return JSON.parse(raw) as ActiveExchange;
    } catch {
      return null;
    }
  }
}

export interface AgentRoomInboundDeps {
  active: ActiveExchanges;
  actorFor(matrixUserId: string): Promise<Actor | null>;
  answers: {
    stop(actor: Actor, conversationId: string): Promise<void>;
    interrupt(actor: Actor, conversationId: string, message: { id: string; from: string; text: string }): Promise<void>;
  };
  /** Mosaic's notice in the room, as the bot; `name` makes it idempotent. */
  notice(roomId: string, text: string, name: string): Promise<void>;
  displayName(roomId: string, userId: string): Promise<string>;
  logger: Logger;
}

export class AgentRoomInbound {
  constructor(private readonly d: AgentRoomInboundDeps) {}

  async message(e: MatrixEvent): Promise<'interrupted' | 'stopped' | 'ignored'> {
    const body = typeof e.content.body === 'string' ? e.content.body.trim() : '';
    if (!body) return 'ignored';
    const active = await this.d.active.get(e.room_id);
    const actor = await this.d.actorFor(e.sender);
    if (!active) {
      if (actor) await this.d.notice(e.room_id, 'No exchange is running in this room now: there is nothing to interrupt or stop.', `agent-room-idle:${e.event_id}`);
      return 'ignored';
    }
    // Only the person the agents are working for steers them.
    if (!actor || actor.userId !== active.userId) return 'ignored';
    if (/^!stop\b/i.test(body)) {
      await this.d.answers.stop(actor, active.conversationId);
      await this.d.active.clear(e.room_id);
      await this.d.notice(e.room_id, '⏹️ Stopped: the answer and every delegation under it are halted.', `agent-room-stop:${e.event_id}`);
      this.d.logger.info({ channel: 'matrix', event: 'agent_room.stopped', roomId: e.room_id, conversationId: active.conversationId }, 'exchange stopped from its agent room');
      return 'stopped';
    }
    const from = await this.d.displayName(e.room_id, e.sender);
    await this.d.answers.interrupt(actor, active.conversationId, { id: e.event_id, from, text: body.slice(0, 4000) });
    await this.d.notice(e.room_id, `⏸️ Interrupt from ${from} passed to the agents: each one's next step answers it first.`, `agent-room-interrupt:${e.event_id}`);
    this.d.logger.info({ channel: 'matrix', event: 'agent_room.interrupted', roomId: e.room_id, conversationId: active.conversationId }, 'exchange interrupted from its agent room');
    return 'interrupted';
  }
}
