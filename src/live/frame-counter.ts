/**
 * Frames written to live connections, by connection kind and frame type,
 * as plain numbers: this is counted once per frame per connection (the
 * fan-out's hot path), so it costs a map update, and the metrics read the
 * totals only when scraped. Frame types are the server's own (frames.ts),
 * so the set is small and fixed.
 */
export class FrameCounter {
  private readonly byKind = { socket: new Map<string, number>(), stream: new Map<string, number>() };

  count(kind: 'socket' | 'stream', type: string): void {
    const counts = this.byKind[kind];
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }

  totals(): Array<{ kind: string; type: string; count: number }> {
    const out: Array<{ kind: string; type: string; count: number }> = [];
    for (const [kind, counts] of Object.entries(this.byKind)) for (const [type, count] of counts) out.push({ kind, type, count });
    return out;
  }
}
