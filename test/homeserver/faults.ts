/**
 * Test controls for failures a real homeserver produces on its own but this
 * one would not: refusing `/send` (rate limits the appservice is exempt
 * from, an outage of the event-sending path). Kept apart from the API code
 * so the spec-faithful behaviour stays readable.
 */
import { MatrixError } from './router.ts';

export interface SendRefusal {
  /** How many sends to refuse (default: until `lift()`). */
  count?: number;
  status: 429 | 500 | 502 | 503;
  errcode?: string;
  /** Sent as `retry_after_ms` (429 only, as the spec defines it). */
  retryAfterMs?: number;
  /** Which senders are refused (default: all). */
  senders?: (userId: string) => boolean;
}

export interface RefusalHandle {
  /** Sends refused so far, with when they were refused. */
  readonly refused: Array<{ userId: string; roomId: string; txnId: string; at: number }>;
  lift(): void;
}

export class SendFaults {
  private readonly active = new Set<{ spec: SendRefusal; left: number; handle: RefusalHandle }>();

  /** Refuses the matching `PUT /rooms/{roomId}/send/...` requests with the given error. */
  refuse(spec: SendRefusal): RefusalHandle {
    const entry = { spec, left: spec.count ?? Infinity, handle: undefined as unknown as RefusalHandle };
    entry.handle = { refused: [], lift: () => void this.active.delete(entry) };
    this.active.add(entry);
    return entry.handle;
  }

  /** Called by the send endpoint before it stores anything. */
  check(userId: string, roomId: string, txnId: string): void {
    for (const entry of this.active) {
      if (entry.spec.senders && !entry.spec.senders(userId)) continue;
      entry.handle.refused.push({ userId, roomId, txnId, at: Date.now() });
      if (--entry.left <= 0) this.active.delete(entry);
      const { status, retryAfterMs } = entry.spec;
      const errcode = entry.spec.errcode ?? (status === 429 ? 'M_LIMIT_EXCEEDED' : 'M_UNKNOWN');
      throw new MatrixError(status, errcode, status === 429 ? 'Too Many Requests' : 'Internal server error', status === 429 && retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {});
    }
  }
}
