/**
 * /api/providers/credentials: a user's own provider keys. Secrets go in,
 * only masked hints come out. A base URL is refused unless the admin allows
 * them, and then still refused when it resolves inside the server's network.
 */
import { z } from 'zod';
import { PROVIDER_NAMES } from '../config/schema.ts';
import type { CredentialStore, SecretPayload } from '../identity/credential-store.ts';
import { badRequest } from '../errors.ts';
import { checkUserBaseUrl, type UserEndpointPolicy } from '../providers/user-endpoints.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

const oauthSchema = z
  .object({ accessToken: z.string().min(1), refreshToken: z.string().optional(), expiresAt: z.number().int().optional(), tokenUrl: z.url().optional(), clientId: z.string().optional() })
  .strict();

const createSchema = z
  .object({
    provider: z.enum(PROVIDER_NAMES),
    label: z.string().max(100).optional(),
    apiKey: z.string().min(1).max(4096).optional(),
    oauth: oauthSchema.optional(),
    baseUrl: z.url().optional(),
  })
  .strict();

const patchSchema = z
  .object({ label: z.string().max(100).optional(), apiKey: z.string().min(1).max(4096).optional(), oauth: oauthSchema.optional(), baseUrl: z.url().nullable().optional() })
  .strict();

function secretFrom(body: { apiKey?: string | undefined; oauth?: z.infer<typeof oauthSchema> | undefined }, required: boolean): SecretPayload | undefined {
  if (body.apiKey && body.oauth) throw badRequest('give either apiKey or oauth, not both');
  if (body.apiKey) return { type: 'api_key', apiKey: body.apiKey };
  if (body.oauth) return { type: 'oauth', ...body.oauth };
  if (required) throw badRequest('body.apiKey or body.oauth is required');
  return undefined;
}

const credentialId = z.object({ id: z.uuid('expected a credential id (uuid)') });

/** Off unless the admin allows user base URLs (providers.userBaseUrls). */
const NO_BASE_URLS: UserEndpointPolicy = { enabled: false, allowPrivateAddresses: false };

export function credentialRoutes(store: CredentialStore, baseUrls: UserEndpointPolicy = NO_BASE_URLS): RouteGroup {
  // Checked here, before anything is stored; every connection checks again (DNS can change).
  const checkBaseUrl = async (url: string | null | undefined) => {
    if (url) await checkUserBaseUrl(url, baseUrls);
  };
  return {
    path: '/providers/credentials',
    tag: 'Provider keys',
    description: 'Your own provider keys, stored encrypted (needs MOSAIC_SECRET_KEY on the server). Secrets go in; only masked hints come out.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Your stored provider keys (masked)',
        auth: 'user',
        responses: { 200: { description: 'Your credentials, without secrets.' } },
        handle: async ({ actor }) => ok({ credentials: await store.list(actor) }),
      }),
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Store a provider key (an API key, or OAuth tokens)',
        auth: 'user',
        body: createSchema,
        responses: { 201: { description: 'The credential (masked).' } },
        handle: async ({ actor, body }) => {
          await checkBaseUrl(body.baseUrl);
          return created(await store.create(actor, { provider: body.provider, label: body.label ?? '', secret: secretFrom(body, true)!, baseUrl: body.baseUrl ?? null }));
        },
      }),
      defineRoute({
        method: 'get',
        path: '/:id',
        summary: 'One of your credentials (masked)',
        auth: 'user',
        params: credentialId,
        responses: { 200: { description: 'The credential.' } },
        handle: async ({ actor, params }) => ok(await store.get(actor, params.id)),
      }),
      defineRoute({
        method: 'patch',
        path: '/:id',
        summary: 'Change a credential: label, base URL, or a new secret',
        auth: 'user',
        params: credentialId,
        body: patchSchema,
        responses: { 200: { description: 'The credential (masked).' } },
        handle: async ({ actor, params, body }) => {
          const secret = secretFrom(body, false);
          await checkBaseUrl(body.baseUrl);
          return ok(await store.update(actor, params.id, { ...(body.label !== undefined ? { label: body.label } : {}), ...(body.baseUrl !== undefined ? { baseUrl: body.baseUrl } : {}), ...(secret ? { secret } : {}) }));
        },
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Delete a credential',
        auth: 'user',
        params: credentialId,
        responses: { 204: { description: 'Deleted.' } },
        handle: async ({ actor, params }) => {
          await store.remove(actor, params.id);
          return noContent();
        },
      }),
    ],
  };
}
