/**
 * The bot's direct messages with people, remembered the way Matrix clients
 * do: in the bot's `m.direct` account data (user id → room ids). The bot
 * reuses a DM the person is still in (joined or invited), and otherwise
 * opens one (`is_direct`, the person invited) — for a welcome after an
 * admin linked them, or a confirmation when the room they were told in is
 * gone.
 */
import type { Logger } from '../../src/logging.ts';
import { isMatrixError, type MatrixClient } from '../transport/matrix-client.ts';

type Direct = Record<string, string[]>;

export class DirectRooms {
  constructor(
    private readonly client: MatrixClient,
    private readonly botUserId: string,
    private readonly logger: Logger,
  ) {}

  private async directory(): Promise<Direct> {
    const content = (await this.client.getAccountData(this.botUserId, 'm.direct')) ?? {};
    const out: Direct = {};
    for (const [user, rooms] of Object.entries(content)) if (Array.isArray(rooms)) out[user] = rooms.filter((r): r is string => typeof r === 'string');
    return out;
  }

  /** A DM the bot has with this person that they are still in (joined or invited), or null. */
  async find(userId: string): Promise<string | null> {
    for (const roomId of [...((await this.directory())[userId] ?? [])].reverse()) {
      try {
        const member = await this.client.getState(roomId, 'm.room.member', userId, this.botUserId);
        const bot = await this.client.getState(roomId, 'm.room.member', this.botUserId, this.botUserId);
        if (bot?.membership === 'join' && (member?.membership === 'join' || member?.membership === 'invite')) return roomId;
      } catch (err) {
        // The bot left or was removed from that room: not usable.
        if (!isMatrixError(err) || (err.status !== 403 && err.status !== 404)) throw err;
      }
    }
    return null;
  }

  /** Notes a DM (a person invited the bot with `is_direct`, or the bot opened one). */
  async remember(userId: string, roomId: string): Promise<void> {
    const directory = await this.directory();
    const rooms = directory[userId] ?? [];
    if (rooms.includes(roomId)) return;
    await this.client.setAccountData(this.botUserId, 'm.direct', { ...directory, [userId]: [...rooms, roomId] });
  }

  /** The DM with this person, opened now if there is none. */
  async ensure(userId: string): Promise<string> {
    const existing = await this.find(userId);
    if (existing) return existing;
    const roomId = await this.client.createRoom({ preset: 'private_chat', visibility: 'private', is_direct: true, invite: [userId] }, this.botUserId);
    await this.remember(userId, roomId);
    this.logger.info({ channel: 'matrix', event: 'dm.opened', roomId, userId }, 'direct message opened with a person');
    return roomId;
  }
}
