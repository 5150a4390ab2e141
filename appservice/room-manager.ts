/**
 * Room-level actions: who speaks in a room, making sure a ghost is in it,
 * creating a conversation's room the first time it is opened in Matrix,
 * notices, and tombstoning a room when its conversation is archived or
 * deleted.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../src/logging.ts';
import { markdownContent } from './formatting.ts';
import type { Ghosts } from './ghosts.ts';
import { isMatrixError, type MatrixClient } from './matrix-client.ts';
import type { RoomStore, RoomWithConversation } from './room-store.ts';

/** A Matrix send transaction id derived from a name: the same name is the same send. */
export function txnIdFor(name: string): string {
  return `mosaic.${createHash('sha256').update(name).digest('base64url').slice(0, 32)}`;
}

export class RoomManager {
  constructor(
    private readonly client: MatrixClient,
    private readonly ghosts: Ghosts,
    private readonly rooms: RoomStore,
    private readonly logger: Logger,
  ) {}

  /** The user that speaks for a conversation's room: its agent's ghost (joined), else the bot. */
  async speakerFor(mapped: RoomWithConversation, agentId: string | null = mapped.agentId): Promise<string> {
    if (agentId) {
      const ghost = await this.ghosts.ensureById(agentId);
      if (ghost) {
        await this.ensureJoined(mapped.room.roomId, ghost);
        return ghost;
      }
    }
    await this.ensureJoined(mapped.room.roomId, this.ghosts.botUserId);
    return this.ghosts.botUserId;
  }

  /**
   * Joins the room as `userId`; if it is not invited, one of our users
   * already in the room (the bot, or another ghost) invites it first.
   */
  async ensureJoined(roomId: string, userId: string): Promise<void> {
    try {
      await this.client.join(roomId, userId);
      return;
    } catch (err) {
      if (!isMatrixError(err, 'M_FORBIDDEN')) throw err;
    }
    const inviters = [this.ghosts.botUserId];
    try {
      const members = await this.client.joinedMembers(roomId, this.ghosts.botUserId);
      inviters.splice(0, inviters.length, ...Object.keys(members).filter((m) => this.ghosts.isOurs(m) && m !== userId));
    } catch {
      // The bot is not in the room: look for a ghost through the room's own member list below.
    }
    if (inviters.length === 0 || !inviters.includes(this.ghosts.botUserId)) {
      const mapped = await this.rooms.byRoomId(roomId);
      if (mapped?.agentId) inviters.push(this.ghosts.userIdFor(mapped.agentId));
    }
    let lastError: unknown = null;
    for (const inviter of new Set(inviters)) {
      try {
        await this.client.invite(roomId, userId, inviter);
        await this.client.join(roomId, userId);
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error(`${userId} cannot join ${roomId}`);
  }

  /** Sends a markdown notice (m.notice) as `asUser`; `name` makes the send idempotent. */
  async notice(roomId: string, asUser: string, markdown: string, name: string, relatesTo?: Record<string, unknown>): Promise<string> {
    const content: Record<string, unknown> = { ...markdownContent(markdown, 'm.notice'), ...(relatesTo ? { 'm.relates_to': relatesTo } : {}) };
    return this.client.sendEvent(roomId, 'm.room.message', txnIdFor(name), content, asUser);
  }

  /**
   * Creates the room of a conversation (first opened in Matrix): named
   * `Mosaic: <title>`, the conversation id in the topic, invite-only, with
   * power levels bot 100 / humans 50 / agents 0.
   */
  async createConversationRoom(input: { conversationId: string; title: string; agentId: string | null; humans: string[] }): Promise<string> {
    const bot = this.ghosts.botUserId;
    const ghost = input.agentId ? await this.ghosts.ensureById(input.agentId) : null;
    const users: Record<string, number> = { [bot]: 100 };
    for (const h of input.humans) users[h] = 50;
    if (ghost) users[ghost] = 0;
    const topic = `Mosaic conversation ${input.conversationId}`;
    const roomId = await this.client.createRoom({
      preset: 'private_chat',
      visibility: 'private',
      name: `Mosaic: ${input.title}`.slice(0, 255),
      topic,
      invite: [...input.humans, ...(ghost ? [ghost] : [])],
      power_level_content_override: { users, users_default: 0, events_default: 0, invite: 50, kick: 50, ban: 50, redact: 50, state_default: 50 },
      initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
      ],
    });
    if (ghost) await this.client.join(roomId, ghost);
    const linked = await this.rooms.link({ conversationId: input.conversationId, roomId, botJoinedAt: new Date() });
    if (linked.roomId !== roomId) {
      // Another replica opened it a moment earlier: keep theirs, leave ours.
      await this.client.leave(roomId, bot).catch(() => undefined);
      for (const h of input.humans) await this.client.invite(linked.roomId, h, bot).catch(() => undefined);
      return linked.roomId;
    }
    this.logger.info({ channel: 'matrix', event: 'room.created', roomId, conversationId: input.conversationId }, 'conversation room created');
    return roomId;
  }

  /** The conversation's room, created if it has none; `human` is invited either way. */
  async openConversationRoom(input: { conversationId: string; title: string; agentId: string | null; human: string }): Promise<string> {
    const existing = await this.rooms.byConversation(input.conversationId);
    if (!existing) return this.createConversationRoom({ ...input, humans: [input.human] });
    const speaker = await this.speakerFor(existing).catch(() => this.ghosts.botUserId);
    const members = await this.client.joinedMembers(existing.room.roomId, speaker).catch(() => ({}) as Record<string, unknown>);
    if (!(input.human in members)) await this.client.invite(existing.room.roomId, input.human, speaker);
    return existing.room.roomId;
  }

  /**
   * Archive or delete: the room is tombstoned and left read-only. In rooms
   * Mosaic created the bot can do both; in a room a person created, the
   * agent can only say so, and Mosaic stops answering there.
   */
  async tombstone(conversationId: string, why: 'archived' | 'deleted'): Promise<void> {
    const mapped = await this.rooms.byConversation(conversationId);
    if (!mapped || mapped.room.tombstonedAt) return;
    if (!(await this.rooms.markTombstoned(conversationId))) return;
    const roomId = mapped.room.roomId;
    const bot = this.ghosts.botUserId;
    const text = `This conversation was ${why} in Mosaic. This room is now read-only; start a new one with \`!new\` in a direct message to ${bot}.`;
    try {
      const levels = await this.client.getState(roomId, 'm.room.power_levels', '', bot);
      const users = (levels?.users ?? {}) as Record<string, number>;
      if (levels && users[bot] === 100) {
        await this.notice(roomId, bot, text, `tombstone-notice:${conversationId}`);
        // No successor room exists: the tombstone points at the room itself.
        await this.client.putState(roomId, 'm.room.tombstone', '', { body: text, replacement_room: roomId }, bot);
        await this.client.putState(roomId, 'm.room.power_levels', '', { ...levels, events_default: 100, invite: 100 }, bot);
        this.logger.info({ channel: 'matrix', event: 'room.tombstoned', roomId, conversationId, why }, 'room tombstoned');
        return;
      }
    } catch (err) {
      this.logger.debug({ channel: 'matrix', event: 'room.tombstone_as_bot_failed', roomId, err: (err as Error).message }, 'bot cannot tombstone this room');
    }
    const speaker = mapped.agentId ? this.ghosts.userIdFor(mapped.agentId) : bot;
    await this.notice(roomId, speaker, text, `tombstone-notice:${conversationId}`).catch((err: unknown) =>
      this.logger.warn({ channel: 'matrix', event: 'room.tombstone_failed', roomId, err: (err as Error).message }, 'could not tell the room it was archived'),
    );
  }
}
