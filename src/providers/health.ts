/**
 * Provider health, shared by every replica through Valkey/Redis.
 *
 * Each provider has one hash `<prefix>:provider-health:<name>`:
 * status (healthy | degraded | down), latency of the last probe, last error,
 * since (when the status last changed), consecutive failures, cooldown step
 * and cooldown end. Updates run as Lua scripts, so replicas recording at the
 * same time never lose a failure.
 *
 * - Passive tracking: the adapters report each request's outcome
 *   (`observe`, wired as the stream policy's onOutcome); active probes
 *   (`probeAll`, a cheap model listing) report too.
 * - Only calls made with the system's credential feed this shared record.
 *   A call with a user's own key (and perhaps their own base URL) says
 *   something about that key, not the provider: it feeds that user's own
 *   record `<prefix>:provider-health:<name>:user:<userId>` (same rules,
 *   expiring a day after its last update), which only that user's routing
 *   and views consult. One member can never take a provider offline for
 *   everyone.
 * - A failed call makes a healthy provider degraded; `failureThreshold`
 *   consecutive failures make it down for `cooldownSeconds[0]`. A failed
 *   probe makes it down at once: a probe is a plain model listing, so its
 *   failure means the provider cannot be reached or refuses its key. When the
 *   cooldown ends the provider may be tried once more: a failure puts it
 *   down again for the next, longer step (the last step repeats); a
 *   success makes it healthy and resets the steps.
 * - A probe that succeeds slower than `slowMs` leaves the provider degraded.
 * - A provider without a usable system credential is `not_configured` and
 *   never usable in these records (/api/providers/health, /readyz); routing
 *   asks `isUsable`, the tracker's own view, and checks users' keys itself.
 * - A record that cannot be read (Valkey down or slower than `readTimeoutMs`)
 *   is `unknown`, and usable: an outage of the health store says nothing
 *   about the provider, so routing tries it and the call itself tells.
 *   Refusing a message because health could not be read would be a false
 *   "no model can take this message".
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging.ts';
import type { MosaicConfig } from '../config/schema.ts';
import { valkeyKey } from '../valkey/client.ts';
import type { ProviderRegistry } from './registry.ts';
import type { ChatOutcome } from './stream-guard.ts';
import type { ProviderErrorKind } from './errors.ts';
import { PROVIDER_NAMES, type HealthResult, type ProviderName } from './types.ts';
import { OutageLog, within } from '../outage-log.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'down';

export interface ProviderHealthRecord {
  provider: ProviderName;
  /** `not_configured`: no usable system credential, whatever was recorded before; `unknown`: the record could not be read. */
  status: HealthStatus | 'not_configured' | 'unknown';
  /** Whether Mosaic can use it with its own credential now: configured, and not a down provider cooling down. */
  usable: boolean;
  /** Whether the system has a credential for it (Ollama needs none). */
  hasSystemCredential: boolean;
  /** Down and cooling down: nobody's requests are sent to it until `cooldownUntil`. */
  coolingDown: boolean;
  /** Latency of the last successful probe, ms. */
  latencyMs: number | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the status last changed (ISO time), null when never checked. */
  since: string | null;
  lastCheckedAt: string | null;
  consecutiveFailures: number;
  /** How many times in a row the provider went down (1 = first cooldown step). */
  cooldownStep: number;
  /** When a down provider may be tried again (ISO time). */
  cooldownUntil: string | null;
}

export interface ProbeReport {
  provider: ProviderName;
  /** Why no probe ran: no system credential, or cooling down. */
  skipped?: 'no_system_credential' | 'cooling_down';
  result?: HealthResult;
  status: ProviderHealthRecord['status'];
}

export interface ProviderHealthOptions {
  redis: Redis;
  keyPrefix: string;
  failureThreshold: number;
  cooldownSeconds: number[];
  /** Injected for tests; epoch milliseconds. */
  clock?: () => number;
  /** Successful probes slower than this leave the provider degraded. */
  slowMs?: number;
  registry?: ProviderRegistry | undefined;
  logger?: Logger;
  /** A read slower than this counts as unreadable (`unknown`), so routing never waits on a Valkey outage. */
  readTimeoutMs?: number;
}

/** Outcomes that say something about the provider (not about the request or the user's own key). */
const COUNTED: ReadonlySet<ProviderErrorKind> = new Set(['unavailable', 'timeout', 'malformed_stream', 'rate_limit']);

const RECORD_SUCCESS = `
local now = ARGV[1]
local latency = tonumber(ARGV[2])
local slow = tonumber(ARGV[3])
local status = redis.call('HGET', KEYS[1], 'status')
local new = 'healthy'
if latency >= 0 and latency > slow then new = 'degraded' end
if status ~= new then redis.call('HSET', KEYS[1], 'since', now) end
redis.call('HSET', KEYS[1], 'status', new, 'failures', 0, 'step', 0, 'cooldownUntil', 0, 'lastCheckedAt', now)
if latency >= 0 then redis.call('HSET', KEYS[1], 'latencyMs', latency) end
return new
`;

const RECORD_FAILURE = `
local now = tonumber(ARGV[1])
local err = ARGV[2]
local threshold = tonumber(ARGV[3])
local latency = tonumber(ARGV[4])
local immediate = ARGV[5] == '1'
local steps = #ARGV - 5
local h = redis.call('HMGET', KEYS[1], 'status', 'failures', 'step', 'cooldownUntil')
local status = h[1] or 'healthy'
local failures = tonumber(h[2] or '0') + 1
local step = tonumber(h[3] or '0')
local untilTs = tonumber(h[4] or '0')
local new = status
if status == 'down' then
  if now >= untilTs then
    step = step + 1
    untilTs = now + tonumber(ARGV[5 + math.min(step, steps)]) * 1000
  end
elseif immediate or failures >= threshold then
  new = 'down'
  step = step + 1
  untilTs = now + tonumber(ARGV[5 + math.min(step, steps)]) * 1000
  redis.call('HSET', KEYS[1], 'since', now)
else
  new = 'degraded'
  if status ~= 'degraded' then redis.call('HSET', KEYS[1], 'since', now) end
end
redis.call('HSET', KEYS[1], 'status', new, 'failures', failures, 'step', step, 'cooldownUntil', untilTs, 'lastError', err, 'lastErrorAt', now, 'lastCheckedAt', now)
if latency >= 0 then redis.call('HSET', KEYS[1], 'latencyMs', latency) end
return new
`;

/** A user's own-key record lives this long after its last update. */
const OWN_KEY_RECORD_TTL_MS = 86_400_000;

const iso = (ms: string | undefined): string | null => (ms && Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null);

export class ProviderHealth {
  private readonly clock: () => number;
  private readonly slowMs: number;
  private readonly readTimeoutMs: number;
  private readonly outage: OutageLog | null;

  constructor(private readonly options: ProviderHealthOptions) {
    if (options.cooldownSeconds.length === 0) throw new Error('health.cooldownSeconds needs at least one step');
    this.clock = options.clock ?? Date.now;
    this.slowMs = options.slowMs ?? 10_000;
    this.readTimeoutMs = options.readTimeoutMs ?? 1000;
    this.outage = options.logger ? new OutageLog(options.logger, { what: 'provider health (Valkey)', event: 'health' }) : null;
  }

  /** A Valkey read, bounded; null when it failed or took too long (the caller says `unknown`). */
  private async read<T>(op: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    try {
      const value = await within(op(), this.readTimeoutMs, () => new Error(`no answer from Valkey within ${this.readTimeoutMs} ms`));
      this.outage?.succeeded();
      return { ok: true, value };
    } catch (err) {
      this.outage?.failed(err);
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private key(provider: ProviderName): string {
    return valkeyKey(this.options.keyPrefix, 'provider-health', provider);
  }

  /** One user's own-key record of a provider. */
  private userKey(provider: ProviderName, userId: string): string {
    return valkeyKey(this.options.keyPrefix, 'provider-health', provider, 'user', userId);
  }

  /** A call or probe worked. `latencyMs` (probes) also updates the latency shown. */
  async recordSuccess(provider: ProviderName, latencyMs?: number): Promise<HealthStatus> {
    return this.succeededAt(this.key(provider), latencyMs);
  }

  /** A call or probe failed because of the provider; `probe`: a failed probe, which makes it down at once. */
  async recordFailure(provider: ProviderName, error: string, latencyMs?: number, options: { probe?: boolean } = {}): Promise<HealthStatus> {
    return this.failedAt(this.key(provider), error, latencyMs, options.probe ?? false);
  }

  private async succeededAt(key: string, latencyMs?: number): Promise<HealthStatus> {
    return (await this.options.redis.eval(RECORD_SUCCESS, 1, key, String(this.clock()), String(latencyMs ?? -1), String(this.slowMs))) as HealthStatus;
  }

  private async failedAt(key: string, error: string, latencyMs?: number, probe = false): Promise<HealthStatus> {
    return (await this.options.redis.eval(
      RECORD_FAILURE,
      1,
      key,
      String(this.clock()),
      error.slice(0, 500),
      String(this.options.failureThreshold),
      String(latencyMs ?? -1),
      probe ? '1' : '0',
      ...this.options.cooldownSeconds.map(String),
    )) as HealthStatus;
  }

  /** A call with a user's own credential: only that user's record changes. */
  private async observeOwnKey(outcome: ChatOutcome & { credentialOwner: string }): Promise<void> {
    const key = this.userKey(outcome.provider, outcome.credentialOwner);
    if (outcome.ok) {
      // Nothing to remember about a key that works and never failed.
      if ((await this.options.redis.exists(key)) === 0) return;
      await this.succeededAt(key);
    } else if (outcome.error && (COUNTED.has(outcome.error.kind) || outcome.error.kind === 'auth')) {
      await this.failedAt(key, `${outcome.error.kind}: ${outcome.error.message}`);
    } else return;
    await this.options.redis.pexpire(key, OWN_KEY_RECORD_TTL_MS);
  }

  /**
   * Passive tracking from real calls (wire as the stream policy's onOutcome).
   * Only failures that say something about the provider count: not bad
   * requests, cancellations, context overflows, or a user's own key being refused.
   */
  async observe(outcome: ChatOutcome): Promise<void> {
    try {
      if (outcome.userCredential) {
        if (outcome.credentialOwner) await this.observeOwnKey({ ...outcome, credentialOwner: outcome.credentialOwner });
        return;
      }
      if (outcome.ok) await this.recordSuccess(outcome.provider);
      else if (outcome.error && (COUNTED.has(outcome.error.kind) || outcome.error.kind === 'auth')) {
        await this.recordFailure(outcome.provider, `${outcome.error.kind}: ${outcome.error.message}`);
      }
    } catch (err) {
      // Valkey being out is one outage, not one line per model call.
      if (this.outage) this.outage.failed(err, { provider: outcome.provider });
    }
  }

  /** The callback to pass as `policy.onOutcome` (fire and forget). */
  outcomeListener(): (outcome: ChatOutcome) => void {
    return (outcome) => void this.observe(outcome);
  }

  async get(provider: ProviderName): Promise<ProviderHealthRecord> {
    return this.recordAt(provider, this.key(provider), true);
  }

  /** The user's own-key record of a provider, or null when their key never failed, the record expired, or it cannot be read now. */
  async ownKey(provider: ProviderName, userId: string): Promise<ProviderHealthRecord | null> {
    const key = this.userKey(provider, userId);
    const found = await this.read(() => this.options.redis.exists(key));
    return found.ok && found.value ? this.recordAt(provider, key, false) : null;
  }

  /** Usable for this user: the shared record, and — when their own key has failed — their own record too. */
  async isUsableFor(provider: ProviderName, userId: string | null): Promise<boolean> {
    if (!(await this.isUsable(provider))) return false;
    return userId === null ? true : ((await this.ownKey(provider, userId))?.usable ?? true);
  }

  /** `shared`: the system's record, which says `not_configured` without a system credential; a user's own-key record does not. */
  private async recordAt(provider: ProviderName, key: string, shared: boolean): Promise<ProviderHealthRecord> {
    const read = await this.read(() => this.options.redis.hgetall(key));
    const h: Record<string, string> = read.ok ? read.value : {};
    const status = (h.status as HealthStatus | undefined) ?? 'healthy';
    const cooldownUntil = Number(h.cooldownUntil ?? 0);
    const coolingDown = read.ok && status === 'down' && this.clock() < cooldownUntil;
    // Without a registry (a bare tracker) nothing says the credential is missing.
    const adapter = this.options.registry?.get(provider);
    const hasSystemCredential = this.options.registry ? Boolean(adapter?.hasSystemCredential()) : true;
    const configured = hasSystemCredential || !shared;
    return {
      provider,
      status: !configured ? 'not_configured' : read.ok ? status : 'unknown',
      usable: configured && !coolingDown,
      hasSystemCredential,
      coolingDown,
      latencyMs: h.latencyMs !== undefined ? Number(h.latencyMs) : null,
      lastError: read.ok ? (h.lastError ?? null) : `health record could not be read: ${read.error}`,
      lastErrorAt: iso(h.lastErrorAt),
      since: iso(h.since),
      lastCheckedAt: iso(h.lastCheckedAt),
      consecutiveFailures: Number(h.failures ?? 0),
      cooldownStep: Number(h.step ?? 0),
      cooldownUntil: status === 'down' ? iso(h.cooldownUntil) : null,
    };
  }

  async all(providers: readonly ProviderName[] = this.options.registry?.list().map((a) => a.name) ?? PROVIDER_NAMES): Promise<ProviderHealthRecord[]> {
    return Promise.all(providers.map((p) => this.get(p)));
  }

  /**
   * False while the provider is down and cooling down: routing skips it for
   * everyone. Credentials are routing's own question (a user's key makes a
   * provider usable for that user though the system has none).
   */
  async isUsable(provider: ProviderName): Promise<boolean> {
    return !(await this.get(provider)).coolingDown;
  }

  /** Gives probeAll its adapters when the registry is built after this tracker (its onOutcome points here). */
  bindRegistry(registry: ProviderRegistry): this {
    this.options.registry = registry;
    return this;
  }

  /** Forgets everything about a provider (an admin's manual reset). */
  async reset(provider: ProviderName): Promise<void> {
    await this.options.redis.del(this.key(provider));
  }

  /**
   * Probes every enabled provider that has a system credential and is not
   * cooling down, with its cheap health check (a model listing). The jobs
   * module runs this on `health.probeIntervalSeconds`.
   */
  async probeAll(): Promise<ProbeReport[]> {
    const registry = this.options.registry;
    if (!registry) throw new Error('probeAll needs the provider registry');
    return Promise.all(
      registry.list().map(async (adapter): Promise<ProbeReport> => {
        const provider = adapter.name;
        if (!adapter.hasSystemCredential()) return { provider, skipped: 'no_system_credential', status: (await this.get(provider)).status };
        const before = await this.get(provider);
        if (before.coolingDown) return { provider, skipped: 'cooling_down', status: before.status };
        const result = await adapter.healthCheck();
        const status = result.ok ? await this.recordSuccess(provider, result.latencyMs) : await this.recordFailure(provider, result.error ?? 'health check failed', result.latencyMs, { probe: true });
        if (status !== before.status) this.options.logger?.info({ provider, from: before.status, to: status, error: result.error }, 'provider health changed');
        return { provider, result, status };
      }),
    );
  }
}

export function createProviderHealth(config: MosaicConfig, redis: Redis, options: { registry?: ProviderRegistry; logger?: Logger; clock?: () => number } = {}): ProviderHealth {
  return new ProviderHealth({
    redis,
    keyPrefix: config.valkey.keyPrefix,
    failureThreshold: config.health.failureThreshold,
    cooldownSeconds: config.health.cooldownSeconds,
    ...options,
  });
}
