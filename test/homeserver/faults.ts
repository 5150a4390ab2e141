/**
 * Test controls for failures a real homeserver produces on its own but this
 * one would not: refusing `/send` (rate limits the appservice is exempt
 * from, an outage of the event-sending path, a refusal for good such as
 * `400 M_BAD_JSON` for content another homeserver finds wrong), and slow
 * answers. Kept apart from the API code so the spec-faithful behaviour
 * stays readable.
 */
import { MatrixError } from './router.ts';

export interface SendRefusal {
  /** How many sends to refuse (default: until `lift()`). */
  count?: number;
  status: 400 | 403 | 413 | 429 | 500 | 502 | 503;
  errcode?: string;
  /** Sent as `retry_after_ms` (429 only, as the spec defines it). */
  retryAfterMs?: number;
  /** Which senders are refused (default: all). */
  senders?: (userId: string) => boolean;
  /** Which contents are refused (default: all). */
  when?: (content: Record<string, unknown>) => boolean;
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
  check(userId: string, roomId: string, txnId: string, content: Record<string, unknown> = {}): void {
    for (const entry of this.active) {
      if (entry.spec.senders && !entry.spec.senders(userId)) continue;
      if (entry.spec.when && !entry.spec.when(content)) continue;
      entry.handle.refused.push({ userId, roomId, txnId, at: Date.now() });
      if (--entry.left <= 0) this.active.delete(entry);
      const { status, retryAfterMs } = entry.spec;
      const errcode = entry.spec.errcode ?? (status === 429 ? 'M_LIMIT_EXCEEDED' : 'M_UNKNOWN');
      const message = status === 429 ? 'Too Many Requests' : status >= 500 ? 'Internal server error' : 'Refused by a test control';
      throw new MatrixError(status, errcode, message, status === 429 && retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {});
    }
  }
}

/** Delays the answer to matching requests (the work is done at once; only the answer is late), like a busy homeserver. */
export class SlowAnswers {
  private readonly rules = new Set<{ match: (method: string, path: string, userId: string | null) => boolean; delayMs: number }>();

  add(match: (method: string, path: string, userId: string | null) => boolean, delayMs: number): { lift(): void } {
    const rule = { match, delayMs };
    this.rules.add(rule);
    return { lift: () => void this.rules.delete(rule) };
  }

  delayFor(method: string, path: string, userId: string | null): number {
    let ms = 0;
    for (const r of this.rules) if (r.match(method, path, userId)) ms = Math.max(ms, r.delayMs);
    return ms;
  }
}
