/**
 * The Matrix channel as a linkable channel: Matrix user ids by the spec's
 * grammar (never one of Mosaic's own users), and `!link <token>` sent to
 * the bot in a direct message.
 */
import type { LinkChannel } from '../../src/identity/link-channels.ts';
import { BOT_LOCALPART, GHOST_PREFIX } from '../transport/registration.ts';
import { CHANNEL } from './identities.ts';
import { matrixUserIdProblem } from '../transport/matrix-ids.ts';

export function matrixLinkChannel(serverName: string): LinkChannel {
  const bot = `@${BOT_LOCALPART}:${serverName}`;
  return {
    name: CHANNEL,
    label: 'Matrix',
    idLabel: 'Matrix user id',
    problemWithUserId(id) {
      const problem = matrixUserIdProblem(id);
      if (problem) return problem;
      if (id === bot || (id.startsWith(`@${GHOST_PREFIX}`) && id.endsWith(`:${serverName}`))) return "is one of Mosaic's own Matrix users (the bot or an agent)";
      return null;
    },
    redeem(token) {
      return { line: `!link ${token}`, where: `in a direct message to ${bot} on Matrix` };
    },
  };
}
