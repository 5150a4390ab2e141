/**
 * Room-level actions: who speaks in a room, making sure a ghost is in it,
 * creating a conversation's room the first time it is opened in Matrix,
 * notices, tombstoning a room when its conversation is archived or
 * deleted, and reopening it (in a new room) when it is unarchived.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../src/logging.ts';
import { messageContent, openFenceAt, partContent, plainContent, splitParts } from '../outbound/answer-parts.ts';
import type { TextContent } from '../translation/formatting.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import { isMatrixError, isPermanentSendError, type MatrixClient } from '../transport/matrix-client.ts';
import type { RoomStore, RoomWithConversation } from './room-store.ts';

/** A Matrix send transaction id derived from a name: the same name is the same send. */
export function txnIdFor(name: string): string {
  return `mosaic.${createHash('sha256').update(name).digest('base64url').slice(0, 32)}`;
}

/** A link to a room that Matrix clients open. */
export function matrixTo(roomId: string): string {
  return `https://matrix.to/#/${encodeURIComponent(roomId)}`;
}

export class RoomManager {
  /** Told of every conversation room Mosaic makes or adopts (Spaces place it); its failure is logged, never thrown. */
  private roomListener: ((conversationId: string) => Promise<void>) | null = null;

  constructor(
    private readonly client: MatrixClient,
    private readonly ghosts: Ghosts,
    private readonly rooms: RoomStore,
    private readonly logger: Logger,
  ) {}

  onRoom(listener: (conversationId: string) => Promise<void>): void {
    this.roomListener = listener;
  }

  /** A conversation has a (new) room: its Space learns of it. */
  async roomLinked(conversationId: string): Promise<void> {
    if (!this.roomListener) return;
    await this.roomListener(conversationId).catch((err: unknown) =>
      this.logger.warn({ channel: 'matrix', event: 'room.space_failed', conversationId, err: (err as Error).message }, 'could not place the room in its Space'),
    );
  }

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

  /** Sends a markdown notice (m.notice) as `asUser`; `name` makes the send idempotent. Returns its (first) event id. */
  async notice(roomId: string, asUser: string, markdown: string, name: string, relatesTo?: Record<string, unknown>): Promise<string> {
    return (await this.sendText(roomId, asUser, markdown, name, { msgtype: 'm.notice', ...(relatesTo ? { relatesTo } : {}) })).eventIds[0]!;
  }

  /**
   * Text (markdown, or `plain`) as one message, or several in order when it
   * is too long for one event. A part the homeserver refuses for good
   * (isPermanentSendError) is sent again as plain text, and so are the
   * parts after it; `refused` is that refusal. A plain part refused too throws.
   */
  async sendText(roomId: string, asUser: string, text: string, name: string, opts: { msgtype?: TextContent['msgtype']; relatesTo?: Record<string, unknown>; plain?: boolean } = {}): Promise<{ eventIds: string[]; refused: unknown }> {
    const msgtype = opts.msgtype ?? 'm.text';
    const relatesTo = opts.relatesTo ?? null;
    const parts = splitParts(text, {}, relatesTo, msgtype, 0, opts.plain === true);
    const eventIds: string[] = [];
    let refused: unknown = null;
    for (const [i, [start, end]] of parts.entries()) {
      const part = text.slice(start, end);
      const partName = i === 0 ? name : `${name}:part:${i + 1}`;
      const rel = i === 0 ? relatesTo : null;
      if (refused === null) {
        try {
          const content = opts.plain ? plainContent(part, msgtype) : partContent(part, openFenceAt(text, start), {}, msgtype);
          eventIds.push(await this.client.sendEvent(roomId, 'm.room.message', txnIdFor(partName), messageContent(content, {}, rel), asUser));
          continue;
        } catch (err) {
          if (!isPermanentSendError(err)) throw err;
          refused = err;
        }
      }
      eventIds.push(await this.client.sendEvent(roomId, 'm.room.message', txnIdFor(`${partName}:plain`), messageContent(plainContent(part, msgtype)), asUser));
    }
    return { eventIds, refused };
  }

  /**
   * A new room for a conversation: named `Mosaic: <title>`, the conversation
   * id in the topic, invite-only, with power levels bot 100 / humans 50 /
   * agents 0. Nobody is invited yet: the caller links the room to the
   * conversation first and then calls inviteMembers, so a person who joins
   * and writes at once finds a conversation room, never an unknown one.
   * `predecessor` is the room it replaces, so clients link the two.
   */
  private async newConversationRoom(input: { conversationId: string; title: string; agentId: string | null; humans: string[]; predecessor?: string }): Promise<string> {
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
      ...(input.predecessor ? { creation_content: { predecessor: { room_id: input.predecessor } } } : {}),
      power_level_content_override: { users, users_default: 0, events_default: 0, invite: 50, kick: 50, ban: 50, redact: 50, state_default: 50 },
      initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
        // Personal rooms: a person sees what was said since they were invited. A shared room is opened up to `shared` by its team's Space.
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'invited' } },
      ],
    });
    return roomId;
  }

  /** The agent's ghost joins a room Mosaic created, then the humans are invited. */
  private async inviteMembers(roomId: string, agentId: string | null, humans: string[]): Promise<void> {
    const bot = this.ghosts.botUserId;
    const ghost = agentId ? await this.ghosts.ensureById(agentId) : null;
    if (ghost) {
      await this.client.invite(roomId, ghost, bot);
      await this.client.join(roomId, ghost);
    }
    for (const h of humans) await this.client.invite(roomId, h, bot);
  }

  /**
   * Creates the room of a conversation (first opened in Matrix), links it,
   * and only then invites. A room Mosaic created has no "before Mosaic
   * joined": nobody could write in it before it was a conversation room.
   */
  async createConversationRoom(input: { conversationId: string; title: string; agentId: string | null; humans: string[] }): Promise<string> {
    const bot = this.ghosts.botUserId;
    const roomId = await this.newConversationRoom(input);
    const linked = await this.rooms.link({ conversationId: input.conversationId, roomId, botJoinedAt: null });
    if (linked.roomId !== roomId) {
      // Another replica opened it a moment earlier: keep theirs, leave ours (nobody was invited to it).
      await this.client.leave(roomId, bot).catch(() => undefined);
      for (const h of input.humans) await this.client.invite(linked.roomId, h, bot).catch(() => undefined);
      return linked.roomId;
    }
    await this.inviteMembers(roomId, input.agentId, input.humans);
    this.logger.info({ channel: 'matrix', event: 'room.created', roomId, conversationId: input.conversationId }, 'conversation room created');
    await this.roomLinked(input.conversationId);
    return roomId;
  }

  /** The conversation's room, created if it has none (reopened if it was unarchived); `human` is invited either way. */
  async openConversationRoom(input: { conversationId: string; title: string; agentId: string | null; human: string }): Promise<string> {
    let existing = await this.rooms.byConversation(input.conversationId);
    if (!existing) return this.createConversationRoom({ ...input, humans: [input.human] });
    if (existing.room.tombstonedAt && !existing.archived && !existing.deleted) {
      // Unarchived while the room could not be reopened (the homeserver was away): reopen it now.
      await this.reopen(input.conversationId, [input.human]);
      existing = (await this.rooms.byConversation(input.conversationId)) ?? existing;
    }
    const speaker = await this.speakerFor(existing).catch(() => this.ghosts.botUserId);
    const members = await this.client.joinedMembers(existing.room.roomId, speaker).catch(() => ({}) as Record<string, unknown>);
    if (!(input.human in members)) await this.client.invite(existing.room.roomId, input.human, speaker);
    return existing.room.roomId;
  }

  /**
   * Unarchive: the conversation gets a room that is answered in again. A
   * room that carries a tombstone is closed for clients for good, so a new
   * room (same name, topic and power levels) replaces it: the `humans` and
   * the people still in the old room are invited, the conversation moves
   * to it, and the old room's tombstone now points at it. A room Mosaic
   * could not tombstone (one a person created) is simply answered in again.
   * Returns the conversation's room after this, or null if it has none.
   */
  async reopen(conversationId: string, humans: string[]): Promise<string | null> {
    const mapped = await this.rooms.byConversation(conversationId);
    if (!mapped) return null;
    const closedAt = mapped.room.tombstonedAt;
    if (!closedAt || mapped.archived || mapped.deleted) return mapped.room.roomId;
    const oldRoom = mapped.room.roomId;
    const bot = this.ghosts.botUserId;
    const ghost = mapped.agentId ? this.ghosts.userIdFor(mapped.agentId) : null;

    const readers = [bot, ...(ghost ? [ghost] : [])];
    // Closed by Mosaic: made read-only (events need power 100), or tombstoned by an earlier version.
    const levels = await this.readState(oldRoom, 'm.room.power_levels', readers);
    const closedByMosaic = (levels?.events_default === 100 && ((levels.users ?? {}) as Record<string, number>)[bot] === 100) || Boolean(await this.readState(oldRoom, 'm.room.tombstone', readers));
    if (!closedByMosaic) {
      if (await this.rooms.clearTombstone(conversationId, oldRoom)) {
        const speaker = await this.speakerFor(mapped).catch(() => ghost ?? bot);
        await this.notice(oldRoom, speaker, 'This conversation was unarchived in Mosaic: I answer here again.', `unarchived:${conversationId}:${closedAt.toISOString()}`).catch((err: unknown) =>
          this.logger.warn({ channel: 'matrix', event: 'room.reopen_notice_failed', roomId: oldRoom, err: (err as Error).message }, 'could not tell the room it is answered in again'),
        );
        this.logger.info({ channel: 'matrix', event: 'room.reopened', roomId: oldRoom, conversationId }, 'room answered in again');
      }
      return oldRoom;
    }

    const members = await this.client.joinedMembers(oldRoom, bot).catch(() => ({}) as Record<string, unknown>);
    const invitees = [...new Set([...humans, ...Object.keys(members).filter((m) => !this.ghosts.isOurs(m))])];
    const roomId = await this.newConversationRoom({ conversationId, title: mapped.title, agentId: mapped.agentId, humans: invitees, predecessor: oldRoom });
    if (!(await this.rooms.relink(conversationId, oldRoom, roomId))) {
      // Another replica reopened it first, or it was archived again meanwhile: ours is no conversation's room (and nobody was invited to it).
      await this.client.leave(roomId, bot).catch(() => undefined);
      return (await this.rooms.byConversation(conversationId))?.room.roomId ?? null;
    }
    await this.inviteMembers(roomId, mapped.agentId, invitees);
    this.logger.info({ channel: 'matrix', event: 'room.reopened', roomId, replaces: oldRoom, conversationId }, 'conversation moved to a new room');
    await this.roomLinked(conversationId);
    const text = `This conversation was unarchived in Mosaic and continues in a new room: ${matrixTo(roomId)}`;
    try {
      // Clients follow the tombstone's replacement_room ("the conversation continues here").
      await this.client.putState(oldRoom, 'm.room.tombstone', '', { body: text, replacement_room: roomId }, bot);
      await this.notice(oldRoom, bot, text, `reopened:${roomId}`);
    } catch (err) {
      this.logger.warn({ channel: 'matrix', event: 'room.successor_notice_failed', roomId: oldRoom, err: (err as Error).message }, 'could not point the old room at the new one');
    }
    return roomId;
  }

  /**
   * A state event's content as the first of `asUsers` allowed to read it;
   * null if the room has none; undefined if none of them can read the room.
   */
  private async readState(roomId: string, type: string, asUsers: string[]): Promise<Record<string, unknown> | null | undefined> {
    for (const user of asUsers) {
      try {
        return await this.client.getState(roomId, type, '', user);
      } catch (err) {
        this.logger.debug({ channel: 'matrix', event: 'room.state_unreadable', roomId, type, user, err: (err as Error).message }, 'cannot read room state as this user');
      }
    }
    return undefined;
  }

  /**
   * Archive or delete: the room is closed — read-only for everyone but the
   * bot. It gets no tombstone yet: a tombstone must name the room that
   * replaces it (Synapse refuses one naming its own room), and there is
   * none until the conversation is unarchived (reopen() tombstones it then,
   * pointing at the new room). In rooms Mosaic created the bot can do this;
   * in a room a person created, the agent can only say so, and Mosaic stops
   * answering there.
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
        await this.client.putState(roomId, 'm.room.power_levels', '', { ...levels, events_default: 100, invite: 100 }, bot);
        this.logger.info({ channel: 'matrix', event: 'room.tombstoned', roomId, conversationId, why }, 'room closed: read-only');
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
