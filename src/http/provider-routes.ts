/**
 * GET /api/providers/models — every model of every enabled provider, with
 * its capabilities and whether the acting user can use it now.
 * GET /api/providers/health — status of each provider, as every replica sees it.
 */
import { z } from 'zod';
import type { Actor } from '../identity/actor.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { ProviderHealth, ProviderHealthRecord } from '../providers/health.ts';
import type { ModelDirectory } from '../providers/model-directory.ts';
import { PROVIDER_NAMES, type ModelInfo, type ProviderName } from '../providers/types.ts';
import { defineRoute, ok, type RouteGroup } from './route-spec.ts';

/** "This user has a usable credential of their own for this provider" (the credential vault answers). */
export type UserCredentialCheck = (actor: Actor, provider: ProviderName) => Promise<boolean>;

export interface ProviderRoutesOptions {
  registry: ProviderRegistry;
  health: ProviderHealth;
  directory: ModelDirectory;
  hasUserCredential?: UserCredentialCheck;
}

/**
 * no_credential: neither a system key nor one of the user's own; cooling_down:
 * the provider failed repeatedly and rests; not_listed: the provider's own
 * listing (Ollama: the pulled models) does not include this catalogue model.
 */
export type UnavailableReason = 'no_credential' | 'cooling_down' | 'not_listed';

export interface ModelAvailability extends ModelInfo {
  available: boolean;
  unavailableReason?: UnavailableReason;
}

export interface ProviderSummary {
  provider: ProviderName;
  local: boolean;
  /** Whose key the acting user's requests would use. */
  credential: 'system' | 'user' | 'none';
  usable: boolean;
  status: ProviderHealthRecord['status'];
  listed: boolean;
  listingError?: string;
  /** How the acting user's own key has fared (only when it failed lately); nobody else sees it. */
  ownKey?: ProviderHealthRecord;
}

const modelsQuery = z
  .object({
    provider: z.enum(PROVIDER_NAMES).optional(),
    available: z.enum(['true', 'false']).optional(),
    capability: z.enum(['tools', 'vision', 'embedding', 'streaming']).optional(),
    tier: z.enum(['economy', 'standard', 'premium']).optional(),
  })
  .strict();

/** The models the actor may see, with availability; shared by the route and by other surfaces (commands). */
export async function modelsForActor(options: ProviderRoutesOptions, actor: Actor): Promise<{ models: ModelAvailability[]; providers: ProviderSummary[] }> {
  const lists = await options.directory.all();
  const providers: ProviderSummary[] = [];
  const models: ModelAvailability[] = [];
  for (const entry of lists) {
    const adapter = options.registry.get(entry.provider);
    if (!adapter) continue;
    const userKey = options.hasUserCredential ? await options.hasUserCredential(actor, entry.provider).catch(() => false) : false;
    const credential: ProviderSummary['credential'] = userKey ? 'user' : adapter.hasSystemCredential() ? 'system' : 'none';
    const shared = await options.health.get(entry.provider);
    const own = credential === 'user' ? await options.health.ownKey(entry.provider, actor.userId) : null;
    // Cooling down (the provider for everyone, or this user's own key) is what counts here; whether the
    // system has a key is the credential's question (a user's own key serves them without one).
    const health = { coolingDown: shared.coolingDown || own?.usable === false, status: own && !own.usable ? own.status : shared.status };
    providers.push({
      provider: entry.provider,
      local: adapter.local,
      credential,
      usable: credential !== 'none' && !health.coolingDown,
      status: health.status,
      ...(own ? { ownKey: own } : {}),
      listed: entry.listed,
      ...(entry.listingError ? { listingError: entry.listingError } : {}),
    });
    // A listing that named nothing (a provider without a models endpoint) says nothing about what is missing.
    const listingCounts = entry.listed && entry.models.some((m) => m.source !== 'catalogue');
    for (const model of entry.models) {
      let reason: UnavailableReason | undefined;
      if (credential === 'none') reason = 'no_credential';
      else if (health.coolingDown) reason = 'cooling_down';
      else if (listingCounts && model.source === 'catalogue') reason = 'not_listed';
      models.push({ ...model, available: reason === undefined, ...(reason ? { unavailableReason: reason } : {}) });
    }
  }
  return { models, providers };
}

export function providerRoutes(options: ProviderRoutesOptions): RouteGroup {
  return {
    path: '/providers',
    tag: 'Providers',
    description: 'Models and providers: what exists, what you can use, and how each provider is doing.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/models',
        summary: 'Every model of every enabled provider, and whether you can use it now',
        auth: 'user',
        query: modelsQuery,
        responses: { 200: { description: 'Models with capabilities and availability, and a summary per provider.' } },
        handle: async ({ actor, query: q }) => {
          const { models, providers } = await modelsForActor(options, actor);
          const filtered = models.filter(
            (m) =>
              (!q.provider || m.provider === q.provider) &&
              (!q.available || m.available === (q.available === 'true')) &&
              (!q.capability || m[q.capability]) &&
              (!q.tier || m.tier === q.tier),
          );
          return ok({ models: filtered, providers: q.provider ? providers.filter((p) => p.provider === q.provider) : providers });
        },
      }),
      defineRoute({
        method: 'get',
        path: '/health',
        summary: 'Health of each provider, as every replica sees it',
        description:
          '`not_configured`: no usable system credential; `unknown`: the record could not be read (Valkey unavailable) — routing still tries the provider; `down`: its last probe or calls failed (cooling down while `usable` is false); `degraded`: failures below the threshold or slow; `healthy`. `/readyz` reports the same.',
        auth: 'user',
        responses: { 200: { description: 'One record per enabled provider (with `ownKey`: how your own key has fared, when it failed lately).' } },
        handle: async ({ actor }) => {
          const records = await options.health.all(options.registry.list().map((a) => a.name));
          const providers = [];
          for (const rec of records) {
            // The shared record comes from system-credential calls only; the user's own key has its own, shown to them alone.
            const own = await options.health.ownKey(rec.provider, actor.userId);
            providers.push({ ...rec, ...(own ? { ownKey: own } : {}) });
          }
          return ok({ providers });
        },
      }),
    ],
  };
}
