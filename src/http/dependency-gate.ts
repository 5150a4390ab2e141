/**
 * Fail fast and honest while the database or Valkey is out: once either is
 * known to be unavailable (a request failed on it, or the Valkey client
 * says it is not connected), every /api request is answered at once with
 * 503 and `Retry-After`, instead of hanging on a connection that is not
 * there or answering 500. A probe (bounded pings, once a second) notices
 * when it is back. Each outage is logged once when it starts and once
 * when it ends (src/outage-log.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging.ts';
import { MosaicError } from '../errors.ts';
import { OutageLog, within } from '../outage-log.ts';

export type DependencyName = 'database' | 'valkey';

export interface Dependency {
  name: DependencyName;
  /** Resolves when the dependency answers. */
  ping(): Promise<unknown>;
  /** True when the client already knows it is not connected (no need to wait for a failure). */
  knownDown?(): boolean;
}

/** What a person and a client are told (the Retry-After header says the same in seconds). */
export const RETRY_AFTER_SECONDS = 5;

const LABEL: Record<DependencyName, string> = { database: 'The database', valkey: 'Valkey (queues and live updates)' };

export function dependencyUnavailable(name: DependencyName): MosaicError {
  return new MosaicError('service_unavailable', `${LABEL[name]} is unavailable right now; Mosaic keeps what it already accepted and answers again when it is back. Retry in a few seconds.`, {
    httpStatus: 503,
    retryable: true,
    details: { dependency: name, retryAfterSeconds: RETRY_AFTER_SECONDS },
  });
}

export class DependencyGate {
  private readonly down = new Map<DependencyName, true>();
  private readonly outages = new Map<DependencyName, OutageLog>();
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    private readonly dependencies: Dependency[],
    logger: Logger,
    private readonly options: { probeMs?: number; pingTimeoutMs?: number } = {},
  ) {
    for (const d of dependencies) this.outages.set(d.name, new OutageLog(logger, { what: d.name === 'database' ? 'the database' : 'Valkey', event: d.name }));
  }

  /** A request (or any work) failed because `name` is out. */
  failed(name: DependencyName, err: unknown): void {
    this.outages.get(name)?.failed(err);
    if (this.down.has(name)) return;
    this.down.set(name, true);
    this.startProbing();
  }

  /** The first dependency known to be out, or null. */
  unavailable(): DependencyName | null {
    for (const d of this.dependencies) {
      if (!this.down.has(d.name) && d.knownDown?.()) this.failed(d.name, new Error('the client is not connected'));
      if (this.down.has(d.name)) return d.name;
    }
    return null;
  }

  /** Express middleware: 503 at once while a dependency is out. */
  middleware() {
    return (_req: Request, _res: Response, next: NextFunction): void => {
      const out = this.unavailable();
      next(out ? dependencyUnavailable(out) : undefined);
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private startProbing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.probe(), this.options.probeMs ?? 1000);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      for (const d of this.dependencies) {
        if (!this.down.has(d.name)) continue;
        const ms = this.options.pingTimeoutMs ?? 1000;
        const ok = !d.knownDown?.() && (await within(d.ping(), ms, () => new Error(`no answer within ${ms} ms`)).then(() => true, () => false));
        if (ok) {
          this.down.delete(d.name);
          this.outages.get(d.name)?.succeeded();
        }
      }
      if (this.down.size === 0) this.stop();
    } finally {
      this.probing = false;
    }
  }
}
