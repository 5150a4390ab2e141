/**
 * The Matrix channel's metrics, named after Synapse's appservice series
 * (`synapse_appservice_api_sent_transactions`, `…_failed_transactions`,
 * `…_sent_events`) seen from the receiving end: transactions and events the
 * homeserver pushed, how processing them went, and what Mosaic sent back.
 * Labels are bounded: event types fold into a few classes, errcodes outside
 * the spec's into `other`, endpoints into what kind of send they are — a
 * homeserver (or whoever holds its token) cannot add a series.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { refusalCode, type SendKind } from './matrix-client.ts';

export type TransactionOutcome = 'stored' | 'repeat' | 'invalid' | 'failed';
export type EventOutcome = 'done' | 'skipped' | 'retrying' | 'failed' | 'given_up';

/** Errcodes of the spec (and Mosaic's two for sends that never left) that may be label values. */
const KNOWN_ERRCODES: ReadonlySet<string> = new Set([
  'M_FORBIDDEN', 'M_UNKNOWN_TOKEN', 'M_MISSING_TOKEN', 'M_BAD_JSON', 'M_NOT_JSON', 'M_NOT_FOUND', 'M_LIMIT_EXCEEDED', 'M_UNKNOWN', 'M_UNRECOGNIZED',
  'M_UNAUTHORIZED', 'M_USER_DEACTIVATED', 'M_USER_IN_USE', 'M_ROOM_IN_USE', 'M_BAD_STATE', 'M_GUEST_ACCESS_FORBIDDEN', 'M_INVALID_PARAM', 'M_MISSING_PARAM',
  'M_TOO_LARGE', 'M_EXCLUSIVE', 'M_RESOURCE_LIMIT_EXCEEDED', 'M_UNSUPPORTED_ROOM_VERSION', 'M_INCOMPATIBLE_ROOM_VERSION',
  'M_CONNECTION_FAILED', 'M_CANONICAL_JSON',
]);

export const errcodeLabel = (errcode: string): string => (KNOWN_ERRCODES.has(errcode) ? errcode : 'other');

const EVENT_CLASSES: Record<string, string> = {
  'm.room.message': 'message',
  'm.room.encrypted': 'encrypted',
  'm.reaction': 'reaction',
  'm.room.redaction': 'redaction',
  'm.room.member': 'member',
};

/** An event's class: a few well-known types, other state, or other. */
export function eventClass(event: unknown): string {
  if (typeof event !== 'object' || event === null) return 'malformed';
  const { type, state_key } = event as { type?: unknown; state_key?: unknown };
  if (typeof type !== 'string') return 'malformed';
  return EVENT_CLASSES[type] ?? (typeof state_key === 'string' ? 'state' : 'other');
}

const perRegistry = new WeakMap<Registry, MatrixMetrics>();

export class MatrixMetrics {
  /** The Matrix series of a registry, registered once however often the channel starts on it. */
  static on(registry: Registry): MatrixMetrics {
    let metrics = perRegistry.get(registry);
    if (!metrics) perRegistry.set(registry, (metrics = new MatrixMetrics(registry)));
    return metrics;
  }

  private readonly transactions: Counter<'outcome'>;
  private readonly transactionSeconds: Histogram;
  private readonly events: Counter<'type'>;
  private readonly processed: Counter<'outcome'>;
  private readonly processSeconds: Histogram;
  private readonly sends: Counter<'kind'>;
  private readonly sendFailures: Counter<'kind' | 'errcode'>;
  private readonly retries: Counter<'errcode'>;
  private readonly refused: Counter<'errcode' | 'outcome'>;

  private constructor(registry: Registry) {
    const registers = [registry];
    this.transactions = new Counter({ name: 'mosaic_matrix_transactions_received_total', help: 'Transactions the homeserver pushed, by outcome (stored, repeat of a stored one, invalid, failed to store)', labelNames: ['outcome'], registers });
    this.transactionSeconds = new Histogram({ name: 'mosaic_matrix_transaction_seconds', help: 'Time from a transaction arriving to its answer (its events stored, not yet processed)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers });
    this.events = new Counter({ name: 'mosaic_matrix_events_received_total', help: 'Events in new transactions, by class (message, encrypted, reaction, redaction, member, state, other, ephemeral, malformed)', labelNames: ['type'], registers });
    this.processed = new Counter({ name: 'mosaic_matrix_events_processed_total', help: 'Stored events handled, by outcome (done, skipped, retrying, failed, given_up)', labelNames: ['outcome'], registers });
    this.processSeconds = new Histogram({ name: 'mosaic_matrix_event_processing_seconds', help: 'Time to handle one stored event (a message: until it is stored and its answer queued)', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15], registers });
    this.sends = new Counter({ name: 'mosaic_matrix_sends_total', help: 'Client-Server requests that succeeded, by kind (message, event, state, redaction, room, other)', labelNames: ['kind'], registers });
    this.sendFailures = new Counter({ name: 'mosaic_matrix_send_failures_total', help: 'Client-Server requests that failed after their retries, by kind and errcode', labelNames: ['kind', 'errcode'], registers });
    this.retries = new Counter({ name: 'mosaic_matrix_client_retries_total', help: 'Client-Server requests retried (rate limited, homeserver error or unreachable), by errcode', labelNames: ['errcode'], registers });
    this.refused = new Counter({ name: 'mosaic_matrix_sends_refused_total', help: 'Matrix sends the homeserver refused for good, by errcode and what was delivered instead', labelNames: ['errcode', 'outcome'], registers });
  }

  transaction(outcome: TransactionOutcome, seconds: number): void {
    this.transactions.inc({ outcome });
    if (outcome === 'stored' || outcome === 'repeat') this.transactionSeconds.observe(seconds);
  }

  received(events: readonly unknown[], ephemeral: readonly unknown[] = []): void {
    for (const e of events) this.events.inc({ type: eventClass(e) });
    if (ephemeral.length) this.events.inc({ type: 'ephemeral' }, ephemeral.length);
  }

  eventProcessed(outcome: EventOutcome, seconds: number): void {
    this.processed.inc({ outcome });
    this.processSeconds.observe(seconds);
  }

  sent(kind: SendKind): void {
    this.sends.inc({ kind });
  }

  sendFailed(kind: SendKind, err: unknown): void {
    this.sendFailures.inc({ kind, errcode: errcodeLabel(refusalCode(err).errcode) });
  }

  retried(errcode: string): void {
    this.retries.inc({ errcode: errcodeLabel(errcode) });
  }

  refusal(errcode: string, outcome: 'fallback' | 'failed'): void {
    this.refused.inc({ errcode: errcodeLabel(errcode), outcome });
  }
}
