/**
 * /api/providers/credentials: a user's own provider keys. Secrets go in,
 * only masked hints come out. A base URL is refused unless the admin allows
 * them, and then still refused when it resolves inside the server's network.
 */
import { Router } from 'express';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../config/schema.ts';
import type { CredentialStore, SecretPayload } from '../identity/credential-store.ts';
import { badRequest } from '../errors.ts';
import { checkUserBaseUrl, type UserEndpointPolicy } from '../providers/user-endpoints.ts';
import { actorOf } from './auth.ts';
import { parseInput } from './validate.ts';

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

/** Off unless the admin allows user base URLs (providers.userBaseUrls). */
const NO_BASE_URLS: UserEndpointPolicy = { enabled: false, allowPrivateAddresses: false };

export function credentialRouter(store: CredentialStore, baseUrls: UserEndpointPolicy = NO_BASE_URLS): Router {
  const r = Router();
  // Checked here, before anything is stored; every connection checks again (DNS can change).
  const checkBaseUrl = async (url: string | null | undefined) => {
    if (url) await checkUserBaseUrl(url, baseUrls);
  };
  r.get('/', async (_req, res) => {
    res.json({ credentials: await store.list(actorOf(res)) });
  });
  r.post('/', async (req, res) => {
    const body = parseInput(createSchema, req.body);
    await checkBaseUrl(body.baseUrl);
    const created = await store.create(actorOf(res), { provider: body.provider, label: body.label ?? '', secret: secretFrom(body, true)!, baseUrl: body.baseUrl ?? null });
    res.status(201).json(created);
  });
  r.get('/:id', async (req, res) => {
    res.json(await store.get(actorOf(res), parseInput(z.uuid(), req.params.id, 'id')));
  });
  r.patch('/:id', async (req, res) => {
    const id = parseInput(z.uuid(), req.params.id, 'id');
    const body = parseInput(patchSchema, req.body);
    const secret = secretFrom(body, false);
    await checkBaseUrl(body.baseUrl);
    res.json(await store.update(actorOf(res), id, { ...(body.label !== undefined ? { label: body.label } : {}), ...(body.baseUrl !== undefined ? { baseUrl: body.baseUrl } : {}), ...(secret ? { secret } : {}) }));
  });
  r.delete('/:id', async (req, res) => {
    await store.remove(actorOf(res), parseInput(z.uuid(), req.params.id, 'id'));
    res.status(204).end();
  });
  return r;
}
