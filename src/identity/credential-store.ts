/**
 * Users' own provider credentials (API keys, OAuth tokens), encrypted at
 * rest. Every function takes the acting user; nothing returns a secret
 * except `resolveForUse`, which the server calls for that user's own request.
 * What `resolveForUse` finds (or that there is none: most people use the
 * system key) is kept in memory per user and provider, so a turn reads no
 * credential row; every change here drops it and tells `onChange` listeners
 * (the replica's invalidation publisher tells the other replicas).
 */
import { randomUUID } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { providerCredentials } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from './actor.ts';
import { maskSecret, SecretKeyError, type SecretBox } from './secret-box.ts';
import { ChangeListeners, KeyedCache } from '../cache/keyed-cache.ts';

export const secretPayloadSchema = z.union([
  z.object({ type: z.literal('api_key'), apiKey: z.string().min(1) }).strict(),
  z
    .object({
      type: z.literal('oauth'),
      accessToken: z.string().min(1),
      refreshToken: z.string().optional(),
      /** Epoch ms at which the access token expires. */
      expiresAt: z.number().int().optional(),
      tokenUrl: z.url().optional(),
      clientId: z.string().optional(),
    })
    .strict(),
]);
export type SecretPayload = z.infer<typeof secretPayloadSchema>;

export interface CredentialInfo {
  id: string;
  provider: string;
  kind: 'api_key' | 'oauth';
  label: string;
  hint: string;
  baseUrl: string | null;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface UsableCredential {
  id: string;
  provider: string;
  secret: SecretPayload;
  baseUrl: string | null;
}

type Row = typeof providerCredentials.$inferSelect;

const aadFor = (userId: string, id: string, provider: string) => `${userId}:${id}:${provider}`;

function toInfo(row: Row): CredentialInfo {
  return { id: row.id, provider: row.provider, kind: row.kind, label: row.label, hint: row.hint, baseUrl: row.baseUrl, expiresAt: row.expiresAt, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

function hintOf(secret: SecretPayload): string {
  return maskSecret(secret.type === 'api_key' ? secret.apiKey : secret.accessToken);
}

export class CredentialStore {
  private readonly usable = new KeyedCache<UsableCredential | null>();
  private readonly listeners = new ChangeListeners();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox | null,
  ) {}

  /** Called after every change of a credential (create, update, remove, re-encryption). */
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** Drops the cached credentials (another replica changed one). */
  invalidate(): void {
    this.usable.invalidate();
  }

  private changed(): void {
    this.usable.invalidate();
    this.listeners.notify();
  }

  private requireBox(): SecretBox {
    if (!this.box) throw new SecretKeyError('MOSAIC_SECRET_KEY is not set: stored provider credentials need it (at least 32 random characters)');
    return this.box;
  }

  async create(actor: Actor, input: { provider: string; label?: string; secret: SecretPayload; baseUrl?: string | null }): Promise<CredentialInfo> {
    const box = this.requireBox();
    const id = randomUUID();
    const { envelope, keyId } = box.seal(JSON.stringify(input.secret), aadFor(actor.userId, id, input.provider));
    const [row] = await this.db
      .insert(providerCredentials)
      .values({
        id,
        userId: actor.userId,
        provider: input.provider,
        kind: input.secret.type,
        label: input.label ?? '',
        ciphertext: envelope,
        keyId,
        hint: hintOf(input.secret),
        baseUrl: input.baseUrl ?? null,
        expiresAt: input.secret.type === 'oauth' && input.secret.expiresAt ? new Date(input.secret.expiresAt) : null,
      })
      .returning();
    this.changed();
    return toInfo(row!);
  }

  async list(actor: Actor): Promise<CredentialInfo[]> {
    const rows = await this.db.select().from(providerCredentials).where(eq(providerCredentials.userId, actor.userId)).orderBy(desc(providerCredentials.createdAt));
    return rows.map(toInfo);
  }

  async get(actor: Actor, id: string): Promise<CredentialInfo> {
    return toInfo(await this.row(actor, id));
  }

  private async row(actor: Actor, id: string): Promise<Row> {
    const [row] = await this.db.select().from(providerCredentials).where(and(eq(providerCredentials.id, id), eq(providerCredentials.userId, actor.userId))).limit(1);
    if (!row) throw notFound('credential');
    return row;
  }

  async update(actor: Actor, id: string, patch: { label?: string; secret?: SecretPayload; baseUrl?: string | null }): Promise<CredentialInfo> {
    const row = await this.row(actor, id);
    const values: Partial<typeof providerCredentials.$inferInsert> = { updatedAt: new Date() };
    if (patch.label !== undefined) values.label = patch.label;
    if (patch.baseUrl !== undefined) values.baseUrl = patch.baseUrl;
    if (patch.secret) {
      const { envelope, keyId } = this.requireBox().seal(JSON.stringify(patch.secret), aadFor(actor.userId, id, row.provider));
      Object.assign(values, {
        ciphertext: envelope,
        keyId,
        kind: patch.secret.type,
        hint: hintOf(patch.secret),
        expiresAt: patch.secret.type === 'oauth' && patch.secret.expiresAt ? new Date(patch.secret.expiresAt) : null,
      });
    }
    const [updated] = await this.db
      .update(providerCredentials)
      .set(values)
      .where(and(eq(providerCredentials.id, id), eq(providerCredentials.userId, actor.userId)))
      .returning();
    this.changed();
    return toInfo(updated!);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const rows = await this.db
      .delete(providerCredentials)
      .where(and(eq(providerCredentials.id, id), eq(providerCredentials.userId, actor.userId)))
      .returning({ id: providerCredentials.id });
    if (rows.length === 0) throw notFound('credential');
    this.changed();
  }

  /** The acting user's newest credential for a provider, decrypted, or null. */
  async resolveForUse(actor: Actor, provider: string): Promise<UsableCredential | null> {
    const found = await this.usable.get(`${actor.userId}\n${provider}`, () => this.readForUse(actor.userId, provider));
    // A copy: the cached one is shared by every caller.
    return found && structuredClone(found);
  }

  private async readForUse(userId: string, provider: string): Promise<UsableCredential | null> {
    const [row] = await this.db
      .select()
      .from(providerCredentials)
      .where(and(eq(providerCredentials.userId, userId), eq(providerCredentials.provider, provider)))
      .orderBy(desc(providerCredentials.updatedAt))
      .limit(1);
    if (!row || !this.box) return null;
    const secret = secretPayloadSchema.parse(JSON.parse(this.box.open(row.ciphertext, aadFor(row.userId, row.id, row.provider))));
    return { id: row.id, provider: row.provider, secret, baseUrl: row.baseUrl };
  }

  /** Whether the acting user has any stored credential for the provider. */
  async has(actor: Actor, provider: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: providerCredentials.id })
      .from(providerCredentials)
      .where(and(eq(providerCredentials.userId, actor.userId), eq(providerCredentials.provider, provider)))
      .limit(1);
    return rows.length > 0 && this.box !== null;
  }

  /**
   * Admin operation (`mosaic secrets rotate`): re-encrypts every stored
   * credential under the current key. Rows already under it are rewritten
   * too, so a fresh IV replaces any ciphertext that may have leaked.
   */
  async rotateAll(): Promise<{ rotated: number; keyId: string }> {
    const box = this.requireBox();
    const rows = await this.db.select().from(providerCredentials);
    for (const row of rows) {
      const aad = aadFor(row.userId, row.id, row.provider);
      const { envelope, keyId } = box.seal(box.open(row.ciphertext, aad), aad);
      await this.db.update(providerCredentials).set({ ciphertext: envelope, keyId }).where(eq(providerCredentials.id, row.id));
    }
    this.changed();
    return { rotated: rows.length, keyId: box.currentKeyId };
  }
}
