/**
 * The browser link flow's short-lived secrets, in Valkey so every replica
 * sees them:
 * - a state nonce, sent by a channel to one chat account, bound to it
 *   (single use, 15 minutes);
 * - form tokens, one per form the link page serves, bound to the state
 *   (and, after sign-in, to the account that signed in), single use.
 * Only hashes are stored; values are compared in constant time.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';
import { parseRecord as parse, sameHash, sha256Hex as hashOf } from './link-secrets.ts';

export const LINK_STATE_TTL_MS = 15 * 60_000;
export const LINK_SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const stateRecord = z.object({
  h: z.string(),
  channel: z.string(),
  channelUserId: z.string(),
  /** Where the channel told the person (to confirm there). */
  context: z.record(z.string(), z.string()),
  expiresAt: z.number(),
});
export type LinkState = Omit<z.infer<typeof stateRecord>, 'h'>;

const formRecord = z.object({
  h: z.string(),
  stateHash: z.string(),
  step: z.enum(['sign-in', 'confirm']),
  userId: z.string().optional(),
});
export type FormStep = z.infer<typeof formRecord>['step'];

const newSecret = () => randomBytes(32).toString('base64url');

export class LinkStateStore {
  constructor(
    private readonly valkey: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private stateKey(hash: string): string {
    return ephemeralKey(this.prefix, 'link', 'state', hash);
  }

  private formKey(hash: string): string {
    return ephemeralKey(this.prefix, 'link', 'form', hash);
  }

  /** A new state nonce bound to one chat account. */
  async createState(input: { channel: string; channelUserId: string; context: Record<string, string> }): Promise<{ nonce: string; expiresAt: Date }> {
    const nonce = newSecret();
    const h = hashOf(nonce);
    const expiresAt = this.now() + LINK_STATE_TTL_MS;
    const value: z.infer<typeof stateRecord> = { h, ...input, expiresAt };
    await this.valkey.set(this.stateKey(h), JSON.stringify(value), 'PX', LINK_STATE_TTL_MS);
    return { nonce, expiresAt: new Date(expiresAt) };
  }

  /** The state a nonce stands for, if it is still valid (not used, not expired). */
  async peekState(nonce: string): Promise<LinkState | null> {
    if (!LINK_SECRET_PATTERN.test(nonce)) return null;
    const h = hashOf(nonce);
    return this.valid(h, parse(stateRecord, await this.valkey.get(this.stateKey(h))));
  }

  /** Uses a state: only the one caller that takes it gets it. */
  async consumeState(nonce: string): Promise<LinkState | null> {
    if (!LINK_SECRET_PATTERN.test(nonce)) return null;
    const h = hashOf(nonce);
    return this.valid(h, parse(stateRecord, await this.valkey.getdel(this.stateKey(h))));
  }

  private valid(h: string, rec: z.infer<typeof stateRecord> | null): LinkState | null {
    if (!rec || !sameHash(rec.h, h) || rec.expiresAt <= this.now()) return null;
    const { h: _h, ...state } = rec;
    return state;
  }

  /** A form token for one step of the page, bound to the state (and the signed-in account). */
  async createForm(nonce: string, step: FormStep, userId?: string): Promise<string> {
    const form = newSecret();
    const h = hashOf(form);
    const value: z.infer<typeof formRecord> = { h, stateHash: hashOf(nonce), step, ...(userId ? { userId } : {}) };
    await this.valkey.set(this.formKey(h), JSON.stringify(value), 'PX', LINK_STATE_TTL_MS);
    return form;
  }

  /** Uses a form token; null unless it was issued for this state and step. */
  async consumeForm(form: string, nonce: string, step: FormStep): Promise<{ userId: string | null } | null> {
    if (!LINK_SECRET_PATTERN.test(form) || !LINK_SECRET_PATTERN.test(nonce)) return null;
    const h = hashOf(form);
    const rec = parse(formRecord, await this.valkey.getdel(this.formKey(h)));
    if (!rec || !sameHash(rec.h, h) || !sameHash(rec.stateHash, hashOf(nonce)) || rec.step !== step) return null;
    return { userId: rec.userId ?? null };
  }
}
