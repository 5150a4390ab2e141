/**
 * Which processes are alive, so work held by a dead one (a conversation's
 * answer lease, a reply job's lock) can be taken over in seconds instead
 * of when its lock expires (tens of seconds).
 *
 * Every process has a boot id; locks it takes carry it (or, for BullMQ, a
 * worker id registered here). The process keeps `<prefix>:alive:<id>` for
 * each of its ids, with its host and pid, expiring `ttlMs` after its last
 * renewal. A holder is dead when its key is gone, or when it says it runs
 * on this host and its pid is not running here (a process restarted after
 * a crash sees this at once). In a container the pid may be reused (pid 1):
 * then only the expiry tells, after at most `ttlMs`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { pidAlive } from '../pid-alive.ts';
import { valkeyKey } from './client.ts';

/** Boot ids of the gateways running in this process (tests run replicas side by side in one process). */
const LIVE_HERE = new Set<string>();

interface AliveRecord {
  host: string;
  pid: number;
  boot: string;
}

export class ProcessLiveness {
  /** This process's id; locks it takes start with it. */
  readonly bootId = randomUUID();
  private readonly ids = new Set<string>([this.bootId]);
  private timer: NodeJS.Timeout | null = null;
  private readonly host = hostname();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 15_000,
  ) {}

  private key(id: string): string {
    return valkeyKey(this.prefix, 'alive', id);
  }

  /** Another id that stands for this process (a BullMQ worker's id). */
  async register(id: string): Promise<void> {
    this.ids.add(id);
    await this.beat().catch(() => undefined);
  }

  /** Writes the keys now and renews them until stop(). */
  async start(): Promise<void> {
    LIVE_HERE.add(this.bootId);
    await this.beat();
    this.timer ??= setInterval(() => void this.beat().catch(() => undefined), Math.max(500, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** An orderly stop: the keys go at once (what this process held is released by its own shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    LIVE_HERE.delete(this.bootId);
    await this.redis.del(...[...this.ids].map((id) => this.key(id))).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const value = JSON.stringify({ host: this.host, pid: process.pid, boot: this.bootId } satisfies AliveRecord);
    const pipeline = this.redis.pipeline();
    for (const id of this.ids) pipeline.set(this.key(id), value, 'PX', this.ttlMs);
    await pipeline.exec();
  }

  /** Whether `id` is this process. */
  isMine(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Whether the process behind `id` is known to be dead. False when it is
   * alive or when Valkey cannot say (an outage is no reason to take work over).
   */
  async isDead(id: string): Promise<boolean> {
    if (this.ids.has(id)) return false;
    let raw: string | null;
    try {
      raw = await this.redis.get(this.key(id));
    } catch {
      return false;
    }
    if (raw === null) return true;
    let record: AliveRecord;
    try {
      record = JSON.parse(raw) as AliveRecord;
    } catch {
      return false;
    }
    if (record.host !== this.host) return false;
    // Same host and our own pid: a previous life of this process, unless that gateway runs here too.
    if (record.pid === process.pid) return !LIVE_HERE.has(record.boot);
    return !pidAlive(record.pid);
  }
}

/** The holder part of a lock token `<holder>:<rest>` (a boot id, or a BullMQ worker id). */
export function lockHolder(token: string): string {
  const i = token.indexOf(':');
  return i < 0 ? token : token.slice(0, i);
}
