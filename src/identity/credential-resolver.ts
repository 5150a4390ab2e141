/**
 * Picks the credential for one user's request to one provider: the user's
 * own (refreshing an expired OAuth token first) or else the system's.
 */
import { MosaicError } from '../errors.ts';
import type { Actor } from './actor.ts';
import type { CredentialStore, SecretPayload } from './credential-store.ts';

export interface ResolvedCredential {
  apiKey?: string;
  baseUrl?: string;
  source: 'system' | 'user';
  credentialId?: string;
  userId?: string;
}

export class OAuthRefreshError extends MosaicError {
  constructor(provider: string, detail: string) {
    super('oauth_refresh_failed', `refreshing the ${provider} OAuth token failed: ${detail}`, {
      httpStatus: 502,
      userNotice: `Your ${provider} sign-in has expired and could not be renewed: add the credential again.`,
    });
  }
}

/** Refresh an access token this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;

export class CredentialResolver {
  constructor(
    private readonly store: CredentialStore,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user's own credential for the provider, or null (callers then use the system key). */
  async forUser(actor: Actor, provider: string): Promise<ResolvedCredential | null> {
    const found = await this.store.resolveForUse(actor, provider);
    if (!found) return null;
    let secret = found.secret;
    if (secret.type === 'oauth' && secret.expiresAt !== undefined && secret.expiresAt - REFRESH_MARGIN_MS <= this.now()) {
      secret = await this.refresh(provider, secret);
      await this.store.update(actor, found.id, { secret });
    }
    const apiKey = secret.type === 'api_key' ? secret.apiKey : secret.accessToken;
    return { apiKey, source: 'user', credentialId: found.id, userId: actor.userId, ...(found.baseUrl ? { baseUrl: found.baseUrl } : {}) };
  }

  private async refresh(provider: string, secret: Extract<SecretPayload, { type: 'oauth' }>): Promise<SecretPayload> {
    if (!secret.refreshToken || !secret.tokenUrl) throw new OAuthRefreshError(provider, 'the token expired and no refresh token or token URL is stored');
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: secret.refreshToken });
    if (secret.clientId) body.set('client_id', secret.clientId);
    let res: Response;
    try {
      res = await this.fetchImpl(secret.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new OAuthRefreshError(provider, (err as Error).message);
    }
    if (!res.ok) throw new OAuthRefreshError(provider, `token endpoint answered ${res.status}`);
    const data = (await res.json()) as { access_token?: string; refresh_token?: string; expires_in?: number };
    if (!data.access_token) throw new OAuthRefreshError(provider, 'token endpoint answered without an access_token');
    return {
      ...secret,
      accessToken: data.access_token,
      refreshToken: data.refresh_token ?? secret.refreshToken,
      ...(data.expires_in ? { expiresAt: this.now() + data.expires_in * 1000 } : {}),
    };
  }
}
