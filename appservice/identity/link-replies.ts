/** What the bot says about linking, in words for the person on Matrix. Never echoes a token. */
import type { RedeemResult } from '../../src/identity/channel-link-service.ts';

const GET_TOKEN = 'Get a new one in Mosaic (`mosaic link <username>` in a terminal, or `POST /api/auth/channel-link-token`), or send `!link` alone for a sign-in link.';

function minutes(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}

/** The bot's answer to `!link <token>`. */
export function redeemReply(result: RedeemResult, matrixUserId: string): string {
  if (result.ok) {
    return result.outcome === 'linked'
      ? `✅ Linked: your Matrix account ${matrixUserId} is now linked to the Mosaic account **${result.username}**. Invite an agent to a room (or DM it) to talk; \`!help\` lists what you can do here.`
      : `Your Matrix account ${matrixUserId} is already linked to the Mosaic account **${result.username}**; nothing changed.`;
  }
  const why: Record<typeof result.reason, string> = {
    locked: `Too many failed link attempts from ${matrixUserId}. Try again in ${minutes(result.lockedForSeconds)}.`,
    token_locked: `This token was cancelled after too many failed attempts with it. ${GET_TOKEN}`,
    malformed: `That is not a link token: a token is 64 characters, 0–9 and a–f. ${GET_TOKEN}`,
    unknown: `I don't know this token: check that you copied all of it. ${GET_TOKEN}`,
    expired: `This token has expired (a token works for 15 minutes). ${GET_TOKEN}`,
    used: `This token was already used (a token links once). ${GET_TOKEN}`,
    cancelled: `This token was cancelled. ${GET_TOKEN}`,
    linked_elsewhere: `Your Matrix account ${matrixUserId} is already linked to another Mosaic account${result.username ? ` (**${result.username}**)` : ''}. Unlink it there first (\`DELETE /api/auth/channel-links/matrix/${matrixUserId}\` as that account, or ask your admin), then send \`!link\` again.`,
    account_disabled: `The Mosaic account this token is for${result.username ? ` (**${result.username}**)` : ''} is disabled, so nothing was linked. Ask your Mosaic admin.`,
  };
  const lines = [`⚠️ ${why[result.reason]}`];
  if (result.reason !== 'locked' && result.lockedForSeconds > 0) lines.push(`That was too many failed attempts: try again in ${minutes(result.lockedForSeconds)}.`);
  if (result.tokenCancelled && result.reason !== 'token_locked') lines.push('That token is now cancelled.');
  return lines.join('\n\n');
}

/** `!link` where other people can read it. */
export function notHereReply(bot: string, cancelled: boolean): string {
  return [
    `A link token is a secret: send \`!link <token>\` to ${bot} in a direct message where only you and I are.`,
    cancelled ? 'The token you sent here is now cancelled, since others could read it; get a new one.' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** A person linked through the browser page, told where they asked. */
export function browserLinkedReply(matrixUserId: string, username: string): string {
  return `✅ Linked: your Matrix account ${matrixUserId} is now linked to the Mosaic account **${username}** (through the link page). Write again and you will be answered; \`!help\` lists what you can do.`;
}
