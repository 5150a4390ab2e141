/**
 * The replica that holds the sockets in bench/fanout.ts: the gateway's own
 * composition root (startMosaic) on an embedded database in a temporary
 * folder and the given Valkey prefix, with one user and one conversation.
 * Prints {url, token, conversationId} as one JSON line, then runs until
 * its stdin closes.
 *
 * It also times the replica's side: a bus handler registered after the
 * live hub's runs right after the hub has handed a delta to every socket,
 * and a microtask it queues runs after their writes, so produced (the epoch time the producer
 * put in the delta's text) → that moment is the fan-out latency at the
 * replica, without the clients' own reading; from the event's arrival at
 * the replica to that moment is the fan-out inside it. "report" on stdin
 * prints those samples as one JSON line and starts again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logging.ts';
import { startMosaic } from '../../src/main.ts';

const prefix = process.argv[2] ?? 'bench-fanout';
const dataDir = mkdtempSync(path.join(tmpdir(), 'mosaic-fanout-'));
const config = parseConfig({
  http: { port: 0, host: '127.0.0.1', rateLimitPerMinute: 1_000_000 },
  database: { dataDir },
  valkey: { url: process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379', keyPrefix: prefix },
  log: { level: 'error' },
  providers: { ollama: { enabled: false } },
  live: { maxSocketsPerUser: 5000, framesPerSecond: 1000 },
});
const mosaic = await startMosaic({ config, logger: createLogger(config.log.level) });
const { token } = await mosaic.core.accounts.createUser({ username: 'bench' });
const res = await fetch(`${mosaic.httpUrl}/api/conversations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
const { id } = (await res.json()) as { id: string };
let written: number[] = [];
let inside: number[] = [];
let arrived = 0;
// The bus runs a conversation's own handlers before the '*' ones (the hub's): this one sees the event arrive.
await mosaic.core.services.bus.subscribe(id, (event) => {
  if (event.type === 'answer:delta') arrived = performance.now();
});
await mosaic.core.services.bus.subscribe('*', (event) => {
  // Sockets write a burst's frames in a microtask queued while the hub handed them the event (cork, then
  // uncork); a microtask queued now runs after all of those.
  if (event.type === 'answer:delta' && event.text) {
    const produced = Number(event.text);
    const at = arrived;
    queueMicrotask(() => {
      written.push(performance.timeOrigin + performance.now() - produced);
      inside.push(performance.now() - at);
    });
  }
});
process.stdout.write(`${JSON.stringify({ url: mosaic.httpUrl, token, conversationId: id })}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'report') return;
  process.stdout.write(`${JSON.stringify({ written, inside })}\n`);
  written = [];
  inside = [];
});
process.stdin.on('end', () => {
  void mosaic.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
