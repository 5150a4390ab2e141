/**
 * One installation per Valkey key prefix. Two installations sharing a prefix
 * take each other's jobs (a reply job answered by a database that does not
 * know the user), so at start each installation claims its prefix in the
 * name of its database's identity, and refuses a prefix another database
 * already claimed.
 */
import type { Redis } from 'ioredis';
import { MosaicError } from '../errors.ts';
import { redactUrl } from '../logging.ts';
import { valkeyKey } from './client.ts';

export interface PrefixClaim {
  installationId: string;
  /** Where its database is (no credentials): named in the refusal. */
  database: string;
  since: string;
}

export class PrefixTakenError extends MosaicError {
  constructor(prefix: string, valkeyUrl: string, owner: PrefixClaim, ours: { database: string }) {
    super(
      'valkey_prefix_taken',
      `Valkey prefix "${prefix}" on ${redactUrl(valkeyUrl)} belongs to another Mosaic installation (database ${owner.database}); this one uses ${ours.database}: give each installation its own prefix with VALKEY_PREFIX (valkey.keyPrefix)`,
      { httpStatus: 409 },
    );
  }
}

const ownerKey = (prefix: string) => valkeyKey(prefix, 'installation');

export async function readPrefixClaim(redis: Redis, prefix: string): Promise<PrefixClaim | null> {
  const raw = await redis.get(ownerKey(prefix));
  if (!raw) return null;
  try {
    return JSON.parse(raw) as PrefixClaim;
  } catch {
    return { installationId: raw, database: '(unknown)', since: '' };
  }
}

/** Throws PrefixTakenError when another installation holds the prefix; changes nothing. */
export async function checkValkeyPrefix(redis: Redis, prefix: string, valkeyUrl: string, ours: { installationId: string; database: string }): Promise<PrefixClaim | null> {
  const current = await readPrefixClaim(redis, prefix);
  if (current && current.installationId !== ours.installationId) throw new PrefixTakenError(prefix, valkeyUrl, current, ours);
  return current;
}

/** Claims the prefix for this installation (atomically, first come first served), or throws PrefixTakenError. */
export async function claimValkeyPrefix(redis: Redis, prefix: string, valkeyUrl: string, ours: { installationId: string; database: string }): Promise<void> {
  const claim: PrefixClaim = { installationId: ours.installationId, database: ours.database, since: new Date().toISOString() };
  const set = await redis.set(ownerKey(prefix), JSON.stringify(claim), 'NX');
  if (set === 'OK') return;
  const current = await checkValkeyPrefix(redis, prefix, valkeyUrl, ours);
  // Same installation, its database reached another way (a moved folder, a new host name): keep the record current.
  if (current && current.database !== ours.database) await redis.set(ownerKey(prefix), JSON.stringify({ ...current, database: ours.database }));
}
