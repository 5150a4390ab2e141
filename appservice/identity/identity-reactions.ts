/**
 * What the Matrix channel does when a Matrix account is linked or unlinked
 * (an IdentityListener; the job behind it retries while the homeserver is
 * away, so every step here is idempotent and checks the current link):
 * - linked by an admin (API, CLI, or with a new account): a welcome in the
 *   person's DM with the bot — the agents and the commands;
 * - linked on the browser page: a confirmation where the person asked
 *   (their DM), or in a DM if that room is gone;
 * - linked with `!link <token>`: nothing more (`!link` answered already);
 * - unlinked, with `matrix.removeFromRoomsOnUnlink`: removed from the
 *   rooms of that account's conversations.
 * Personal Spaces subscribe to the same changes beside this listener.
 */
import type { IdentityChange, IdentityListener } from '../../src/identity/identity-events.ts';
import type { ChannelLinkService } from '../../src/identity/channel-link-service.ts';
import type { Logger } from '../../src/logging.ts';
import type { BotCommands } from '../inbound/bot-commands.ts';
import type { RoomManager } from '../rooms/room-manager.ts';
import type { RoomStore } from '../rooms/room-store.ts';
import { isMatrixError, isPermanentSendError, type MatrixClient } from '../transport/matrix-client.ts';
import type { DirectRooms } from './direct-rooms.ts';
import { CHANNEL, type IdentityService } from './identities.ts';
import { browserLinkedReply } from './link-replies.ts';

export interface IdentityReactionDeps {
  client: MatrixClient;
  botUserId: string;
  links: ChannelLinkService;
  identities: IdentityService;
  directs: DirectRooms;
  manager: RoomManager;
  rooms: RoomStore;
  bot: BotCommands;
  removeFromRoomsOnUnlink: boolean;
  logger: Logger;
}

/** A name for one change, for sends that must happen once however often the job runs. */
const changeName = (what: string, c: IdentityChange) => `${what}:${c.channelUserId}:${c.userId}:${c.at}`;

export function identityReactions(d: IdentityReactionDeps): IdentityListener {
  /** Whether the change still holds: linked to that account (or, for an unlink, not linked to it again). */
  const stillLinked = async (c: IdentityChange) => (await d.links.ownerOf(CHANNEL, c.channelUserId))?.userId === c.userId;

  async function welcome(c: IdentityChange): Promise<void> {
    const actor = await d.identities.actorById(c.userId);
    if (!actor) return;
    const roomId = await d.directs.ensure(c.channelUserId);
    await d.manager.notice(roomId, d.botUserId, await d.bot.welcome(actor, c.channelUserId), changeName('welcome', c));
    d.logger.info({ channel: CHANNEL, event: 'identity.welcomed', roomId, matrixUserId: c.channelUserId, userId: c.userId }, 'welcome sent to a linked Matrix user');
  }

  async function confirmBrowserLink(c: IdentityChange): Promise<void> {
    const actor = await d.identities.actorById(c.userId);
    if (!actor) return;
    const text = browserLinkedReply(c.channelUserId, actor.username);
    const name = changeName('browser-linked', c);
    const { roomId, asUser } = c.context ?? {};
    if (roomId && asUser) {
      try {
        await d.manager.notice(roomId, asUser, text, name);
        return;
      } catch (err) {
        // The speaker left that room (an agent that refused the unlinked person): tell them in the DM instead.
        if (!isPermanentSendError(err)) throw err;
      }
    }
    await d.manager.notice(await d.directs.ensure(c.channelUserId), d.botUserId, text, name);
  }

  async function removeFromRooms(c: IdentityChange): Promise<void> {
    let removed = 0;
    for (const roomId of await d.rooms.roomsOf(c.userId)) {
      try {
        const member = await d.client.getState(roomId, 'm.room.member', c.channelUserId, d.botUserId);
        if (member?.membership !== 'join' && member?.membership !== 'invite') continue;
        await d.client.kick(roomId, c.channelUserId, d.botUserId, 'Your Matrix account was unlinked from its Mosaic account.');
        removed++;
      } catch (err) {
        // Rooms where the bot is not a member or has no power (a room a person created) are left alone.
        if (!isMatrixError(err) || (err.status !== 403 && err.status !== 404)) throw err;
        d.logger.info({ channel: CHANNEL, event: 'identity.remove_skipped', roomId, matrixUserId: c.channelUserId, err: err.message }, 'could not remove an unlinked person from a room');
      }
    }
    d.logger.info({ channel: CHANNEL, event: 'identity.removed_from_rooms', matrixUserId: c.channelUserId, userId: c.userId, rooms: removed }, 'unlinked person removed from rooms');
  }

  return {
    async linked(c) {
      if (!(await stillLinked(c))) return;
      try {
        if (c.via === 'admin' || c.via === 'account-created') await welcome(c);
        else if (c.via === 'browser') await confirmBrowserLink(c);
      } catch (err) {
        // The homeserver refused for good (no such user, not allowed): retrying cannot help; the link stands.
        if (!isPermanentSendError(err)) throw err;
        d.logger.warn({ channel: CHANNEL, event: 'identity.notice_refused', matrixUserId: c.channelUserId, via: c.via, err: (err as Error).message }, 'the homeserver refused the message to a newly linked person');
      }
    },
    async unlinked(c) {
      if (!d.removeFromRoomsOnUnlink || (await stillLinked(c))) return;
      await removeFromRooms(c);
    },
  };
}
