/**
 * Intake and processing of pushed events. Intake validates each event and
 * stores the good ones (a malformed event is skipped with a log line; the
 * rest of the transaction goes on). Processing drains stored events — in
 * order within a room and within one person's events, rooms side by side
 * (event-lanes.ts) — each claimed once across replicas, and records what
 * became of it.
 */
import type { Logger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import type { EventJournal, IncomingEvent, StoredEvent } from './event-journal.ts';
import type { EventHandler } from '../inbound/event-handler.ts';
import type { MatrixEvent } from '../translation/translate-inbound.ts';
import type { TransactionBody } from './transaction-listener.ts';
import { malformation, skippedRecord } from './event-intake.ts';
import { lanesOf, runLanes } from './event-lanes.ts';
import type { EventOutcome, MatrixMetrics } from './matrix-metrics.ts';

/** Claims an event gets before it is marked failed (a claim lost to a crash counts too). */
export const MAX_EVENT_ATTEMPTS = 5;

export interface ProcessorFaults {
  /** Test hook: runs after a transaction is stored and before it is acknowledged (throw to simulate a crash there). */
  afterStore?(txnId: string): Promise<void> | void;
}

export interface ProcessorOptions {
  faults?: ProcessorFaults;
  /** Claims an event gets before it is marked failed (default MAX_EVENT_ATTEMPTS). */
  maxAttempts?: number;
  metrics?: MatrixMetrics;
  /** Lanes (independent rooms and people) processed at once (default 8). */
  parallelism?: number;
  /** Mosaic's own users (bot, ghosts): their events do not tie rooms into one lane. */
  isOurs?: (userId: string) => boolean;
}

type Finished = { eventId: string; status: 'done' | 'skipped' | 'failed'; error?: string };

export class EventProcessor {
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  private readonly faults: ProcessorFaults;
  private readonly maxAttempts: number;
  private readonly parallelism: number;
  private readonly isOurs: (userId: string) => boolean;
  /** Events claimed per round: enough for every lane to have work. */
  private readonly batchSize: number;

  constructor(
    private readonly journal: EventJournal,
    private readonly handler: EventHandler,
    private readonly logger: Logger,
    private readonly options: ProcessorOptions = {},
  ) {
    this.faults = options.faults ?? {};
    this.maxAttempts = options.maxAttempts ?? MAX_EVENT_ATTEMPTS;
    this.parallelism = Math.max(1, options.parallelism ?? 8);
    this.isOurs = options.isOurs ?? (() => false);
    this.batchSize = Math.max(50, this.parallelism * 25);
  }

  /** Stores a transaction's events before it is acknowledged; 'repeat' when it was stored before. */
  async intake(txnId: string, bodyHash: string, body: TransactionBody): Promise<'stored' | 'repeat'> {
    if (await this.journal.knownTransaction(txnId, bodyHash)) {
      this.logger.info({ channel: 'matrix', event: 'transaction.repeat', txnId }, 'transaction already stored; acknowledging again');
      return 'repeat';
    }
    const good: IncomingEvent[] = [];
    for (const [index, raw] of body.events.entries()) {
      const problem = malformation(raw);
      if (problem) {
        const record = skippedRecord(raw);
        this.logger.warn({ channel: 'matrix', event: 'transaction.event_skipped', txnId, index, eventId: record?.event_id ?? null, reason: problem }, `malformed event skipped: ${problem}`);
        // Only the identifiers are kept: the content is what could not be stored.
        if (record) await this.journal.recordSkipped(txnId, record, { ...record, skipped: true }, `malformed: ${problem}`);
        continue;
      }
      good.push(raw as IncomingEvent);
    }
    const fresh = await this.journal.record(txnId, bodyHash, good);
    this.logger.debug({ channel: 'matrix', event: 'transaction.stored', txnId, events: body.events.length, fresh: fresh.length }, 'transaction stored');
    await this.faults.afterStore?.(txnId);
    return 'stored';
  }

  /** Processes every claimable event, oldest first. Concurrent calls coalesce. */
  drain(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          for (;;) {
            const batch = await this.journal.claimable(this.batchSize);
            if (batch.length === 0 || this.stopped) break;
            // One statement claims the batch and one records the outcomes: per event, only its own work.
            const rows = new Map((await this.journal.claimMany(batch.map((e) => e.eventId))).map((r) => [r.eventId, r]));
            if (rows.size === 0) break;
            const results: Finished[] = [];
            const untouched = new Set(rows.keys());
            // Rooms (and people) are independent lanes: in order within one, side by side across them.
            await runLanes(lanesOf(batch.filter((e) => rows.has(e.eventId)), this.isOurs), this.parallelism, async ({ eventId }) => {
              if (this.stopped) return;
              untouched.delete(eventId);
              try {
                const finished = await this.processOne(rows.get(eventId)!);
                if (finished) results.push(finished);
              } catch (err) {
                // Bookkeeping of this one event failed; its claim runs out and counts as an attempt. The others go on.
                this.logger.error({ channel: 'matrix', event: 'event.bookkeeping_failed', eventId, err: errorMessage(err) }, 'could not record what became of an event; moving on');
              }
            });
            try {
              await this.journal.finishMany(results);
            } catch (err) {
              // Their claims run out and they are handled again (harmless: see finishMany).
              this.logger.error({ channel: 'matrix', event: 'event.bookkeeping_failed', events: results.length, err: errorMessage(err) }, 'could not record what became of processed events; they will be taken again');
            }
            // Stopping: what was claimed and not begun goes back at once, not after the lease.
            for (const eventId of untouched) await this.journal.release(eventId, 'the process stopped before handling it').catch(() => undefined);
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.logger.error({ channel: 'matrix', event: 'drain.failed', err: errorMessage(err) }, 'processing stored events failed; will retry');
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** Handles one claimed event; what became of it, or null when it keeps its claim (a retryable failure). */
  private async processOne(row: StoredEvent): Promise<Finished | null> {
    const eventId = row.eventId;
    const started = Date.now();
    const done = (outcome: EventOutcome) => this.options.metrics?.eventProcessed(outcome, (Date.now() - started) / 1000);
    const e = row.payload as unknown as MatrixEvent;
    if (row.attempts > this.maxAttempts) {
      const reason = `gave up after ${row.attempts - 1} attempts; last error: ${row.error ?? 'the process handling it stopped before it finished'}`;
      this.logger.error({ channel: 'matrix', event: 'event.given_up', eventId, type: e.type, roomId: e.room_id, attempts: row.attempts - 1 }, 'event failed too often; marked failed and skipped');
      done('given_up');
      return { eventId, status: 'failed', error: reason };
    }
    try {
      const outcome = await this.handler.handle(e);
      if (outcome.status === 'skipped') {
        this.logger.debug({ channel: 'matrix', event: 'event.skipped', eventId, type: e.type, roomId: e.room_id, reason: outcome.reason }, 'event skipped');
        done('skipped');
        return { eventId, status: 'skipped', error: outcome.reason };
      }
      done('done');
      return { eventId, status: 'done' };
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable === true;
      this.logger.warn({ channel: 'matrix', event: 'event.failed', eventId, type: e.type, roomId: e.room_id, retryable, err: errorMessage(err) }, retryable ? 'event failed; it will be retried' : 'event failed');
      done(retryable ? 'retrying' : 'failed');
      if (!retryable) return { eventId, status: 'failed', error: errorMessage(err) };
      // A retryable failure keeps the claim: it is taken again once the claim lease runs out (up to maxAttempts).
      await this.journal.noteFailure(eventId, errorMessage(err));
      return null;
    }
  }

  /** Picks up leftovers (a crashed replica's claims) on an interval. */
  startSweeping(intervalMs: number): void {
    let lastPrune = 0;
    this.timer = setInterval(() => {
      void this.drain();
      // Transaction ids are kept 48 h (Conduit retries for up to 24 h); event ids stay: they are the identity.
      if (Date.now() - lastPrune > 3600_000) {
        lastPrune = Date.now();
        void this.journal.pruneTransactions(48 * 3600_000).catch((err: unknown) => this.logger.warn({ channel: 'matrix', event: 'prune.failed', err: errorMessage(err) }, 'pruning old transaction ids failed'));
      }
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
  }
}
