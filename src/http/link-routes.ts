/**
 * Linking chat accounts over the API: link tokens
 * (`POST /api/auth/channel-link-token`), revoking links
 * (`DELETE /api/auth/channel-links/:channel/:channelUserId`), one's own
 * links (`GET /api/me/links`), and admins linking an account
 * (`POST /api/admin/users/:username/links`).
 */
import { z } from 'zod';
import type { ChannelLinkService } from '../identity/channel-link-service.ts';
import { badRequest } from '../errors.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

/** Ids in `channel_identities` are at most 255 bytes (Matrix's limit for user ids). */
export const channelUserIdSchema = (label: string) =>
  z
    .string({ error: `${label} must be a string` })
    .min(1, `${label} is empty`)
    .refine((v) => Buffer.byteLength(v, 'utf8') <= 255, `${label} is longer than 255 bytes`);

const channelName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel name such as "matrix"');

const link = z.object({ channel: z.string(), channelUserId: z.string(), linkedAt: z.string().describe('ISO time') });

const TAG = 'Linking chat accounts';

export function linkRoutes(links: ChannelLinkService): RouteGroup[] {
  return [
    {
      path: '/auth',
      tag: TAG,
      description: 'Link a Matrix account to your Mosaic account with a token, and revoke links. See docs/matrix.md.',
      routes: [
        defineRoute({
          method: 'post',
          path: '/channel-link-token',
          summary: 'A link token: send `line` to the bot as it says in `where`',
          description:
            'A token (32 random bytes as hex) valid 15 minutes that links, once, the chat account that redeems it to this account. Admins may ask for any account with `username`. A disabled account gets none (409); more than 10 for one account in 15 minutes: 429.',
          auth: 'user',
          body: z
            .object({
              channel: channelName.default('matrix'),
              username: z.string().min(1).max(64).optional().describe('Admins: the account the token is for (default: your own).'),
            })
            .strict(),
          responses: {
            201: {
              description: 'The token (shown this once), its expiry, and the exact line to send.',
              body: z.object({ token: z.string(), expiresAt: z.string(), channel: z.string(), username: z.string(), line: z.string(), where: z.string() }),
            },
          },
          handle: async ({ actor, body }) => {
            const issued = await links.issueToken(actor, body);
            return created({ ...issued, expiresAt: issued.expiresAt.toISOString() });
          },
        }),
        defineRoute({
          method: 'delete',
          path: '/channel-links/:channel/:channelUserId',
          summary: 'Revoke a link (your own; admins any)',
          description: "Takes effect at once: the chat account's next message is refused with the how-to-link notice. Someone else's link, or none: 404.",
          auth: 'user',
          params: z.object({ channel: channelName, channelUserId: channelUserIdSchema('channelUserId') }),
          responses: { 204: { description: 'Revoked.' } },
          handle: async ({ actor, params }) => {
            await links.unlink(actor, params.channel, params.channelUserId);
            return noContent();
          },
        }),
      ],
    },
    {
      path: '/me/links',
      tag: TAG,
      routes: [
        defineRoute({
          method: 'get',
          path: '/',
          summary: 'The chat accounts linked to your account',
          auth: 'user',
          responses: { 200: { description: 'Oldest first.', body: z.object({ links: z.array(link) }) } },
          handle: async ({ actor }) => ok({ links: await links.listLinks(actor) }),
        }),
      ],
    },
    {
      path: '/admin/users',
      tag: TAG,
      routes: [
        defineRoute({
          method: 'post',
          path: '/:username/links',
          summary: 'Link a Matrix account to an account (admins)',
          description: 'The bot welcomes the person in a direct message. Linked to another account already: 409 (unlink it first).',
          auth: 'admin',
          params: z.object({ username: z.string().min(1).max(64) }),
          body: z
            .object({ matrixUserId: channelUserIdSchema('matrixUserId').optional(), channel: channelName.optional(), channelUserId: channelUserIdSchema('channelUserId').optional() })
            .strict()
            .describe('Either `matrixUserId`, or `channel` and `channelUserId`.'),
          responses: {
            200: { description: 'It was linked already; nothing changed.', body: z.object({ username: z.string(), channel: z.string(), channelUserId: z.string(), linked: z.literal(false) }) },
            201: { description: 'Linked.', body: z.object({ username: z.string(), channel: z.string(), channelUserId: z.string(), linked: z.literal(true) }) },
          },
          handle: async ({ actor, params, body }) => {
            if ((body.matrixUserId === undefined) === (body.channelUserId === undefined)) throw badRequest('give either matrixUserId, or channel and channelUserId');
            const target = body.matrixUserId !== undefined ? { channel: 'matrix', channelUserId: body.matrixUserId } : { channel: body.channel ?? 'matrix', channelUserId: body.channelUserId! };
            const result = await links.linkAccount({ ...target, username: params.username }, actor.username);
            return { status: result.linked ? 201 : 200, body: { username: result.username, ...target, linked: result.linked } };
          },
        }),
      ],
    },
  ];
}
