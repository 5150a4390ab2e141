/**
 * AES-256-GCM envelopes for stored secrets. Each key is derived with HKDF
 * from the operator's secret and named by an id stored in the envelope, so
 * the key can be rotated; each ciphertext is bound (additional authenticated
 * data) to its owner and row, so a copied row does not decrypt elsewhere.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { MosaicError } from '../errors.ts';

const VERSION = 'v1';
const MIN_SECRET_LENGTH = 32;

export class SecretKeyError extends MosaicError {
  constructor(message: string) {
    super('secret_key', message, { httpStatus: 503, userNotice: 'Stored credentials are not available on this server: the operator must set MOSAIC_SECRET_KEY.' });
  }
}

export class DecryptError extends MosaicError {
  constructor(message: string) {
    super('decrypt_failed', message, { httpStatus: 500 });
  }
}

interface Key {
  id: string;
  key: Buffer;
}

function derive(id: string, secret: string): Key {
  if (secret.length < MIN_SECRET_LENGTH) throw new SecretKeyError(`secret key "${id}" is too short: use at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`);
  return { id, key: Buffer.from(hkdfSync('sha256', secret, 'mosaic-credentials', `key:${id}`, 32)) };
}

export class SecretBox {
  private readonly current: Key;
  private readonly byId: Map<string, Key>;

  constructor(current: { id: string; secret: string }, previous: Array<{ id: string; secret: string }> = []) {
    this.current = derive(current.id, current.secret);
    this.byId = new Map([[this.current.id, this.current]]);
    for (const p of previous) if (!this.byId.has(p.id)) this.byId.set(p.id, derive(p.id, p.secret));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, aad: string): { envelope: string; keyId: string } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    const envelope = [VERSION, this.current.id, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join('.');
    return { envelope, keyId: this.current.id };
  }

  open(envelope: string, aad: string): string {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptError('stored secret has an unknown format');
    const [, keyId, iv, tag, data] = parts as [string, string, string, string, string];
    const key = this.byId.get(keyId);
    if (!key) throw new DecryptError(`stored secret was encrypted with key "${keyId}", which is not configured: add it to MOSAIC_SECRET_KEYS_PREVIOUS and run \`mosaic secrets rotate\``);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptError(`stored secret does not decrypt with key "${keyId}" (wrong key, or the row was altered or copied)`);
    }
  }
}

/** The box from configuration, or null when no secret key is configured. */
export function secretBoxFromConfig(secrets: { key?: string | undefined; keyId: string; previousKeys: Array<{ id: string; key: string }> }): SecretBox | null {
  if (!secrets.key) return null;
  return new SecretBox({ id: secrets.keyId, secret: secrets.key }, secrets.previousKeys.map((p) => ({ id: p.id, secret: p.key })));
}

/** What may be shown of a secret: its first and last few characters. */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '••••';
  return `${secret.slice(0, 4)}…${secret.slice(-4)}`;
}
