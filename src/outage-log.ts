/**
 * Log lines for an outage of something Mosaic depends on (the database,
 * Valkey, the provider-health records): one line when it starts, one when
 * it ends (with how long it lasted and how many failures were not logged),
 * and at most one reminder a minute in between. Without this an outage of
 * a minute writes hundreds of identical lines.
 */
import type { Logger } from './logging.ts';
import { errorMessage } from './errors.ts';

export interface OutageLogOptions {
  /** What is out, as the log names it: "database", "valkey", "provider health". */
  what: string;
  /** Event name prefix: `<event>.outage_started` / `.outage_ended`. */
  event: string;
  /** A reminder while the outage lasts, at most this often. */
  reminderMs?: number;
  clock?: () => number;
}

export class OutageLog {
  private startedAt: number | null = null;
  private lastLineAt = 0;
  private suppressed = 0;
  private readonly clock: () => number;

  constructor(
    private readonly logger: Logger,
    private readonly options: OutageLogOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Whether an outage is going on (a failure since the last success). */
  get active(): boolean {
    return this.startedAt !== null;
  }

  /** A failure: logged when it starts the outage, otherwise counted (with a reminder a minute). */
  failed(err: unknown, context: Record<string, unknown> = {}): void {
    const now = this.clock();
    const { what, event } = this.options;
    if (this.startedAt === null) {
      this.startedAt = now;
      this.lastLineAt = now;
      this.suppressed = 0;
      this.logger.error({ event: `${event}.outage_started`, ...context, err: errorMessage(err) }, `${what} is unavailable: ${errorMessage(err)} (further failures are counted, not logged, until it is back)`);
      return;
    }
    this.suppressed++;
    if (now - this.lastLineAt >= (this.options.reminderMs ?? 60_000)) {
      this.lastLineAt = now;
      this.logger.error({ event: `${event}.outage_continues`, ...context, failures: this.suppressed, sinceMs: now - this.startedAt, err: errorMessage(err) }, `${what} is still unavailable after ${Math.round((now - this.startedAt) / 1000)} s`);
    }
  }

  /** A success: ends the outage, if there was one, with one line. */
  succeeded(): void {
    if (this.startedAt === null) return;
    const lastedMs = this.clock() - this.startedAt;
    const { what, event } = this.options;
    this.logger.warn({ event: `${event}.outage_ended`, lastedMs, failures: this.suppressed + 1 }, `${what} is available again after ${Math.round(lastedMs / 100) / 10} s (${this.suppressed + 1} failure(s) during the outage)`);
    this.startedAt = null;
    this.suppressed = 0;
  }
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
