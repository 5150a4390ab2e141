/**
 * The worst event-loop stall hostile input can cause, and whether it grows
 * linearly with the input's size. Two parts:
 *
 * 1. Every function that reads user text synchronously, fed adversarial
 *    bodies (the shapes that make backtracking regexes and parsers go
 *    quadratic) at doubling sizes up to the limits Mosaic accepts.
 * 2. The real gateway (embedded PGlite, Valkey from VALKEY_URL), sent the
 *    same bodies over HTTP — messages, search queries, nested JSON — while
 *    perf_hooks.monitorEventLoopDelay records the longest stall.
 *
 * For each shape it prints the stall at each size and the growth factor
 * per doubling of the input: ~2 is linear, ~4 is quadratic. Asserts
 * nothing (times are not tested, they are measured); `--quick` runs fewer
 * sizes.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyMessage } from '../src/routing/classifier.ts';
import { parseCommand } from '../src/commands/parse.ts';
import { inspectJson, API_LIMITS } from '../src/protocol/json-intake.ts';
import { looksLikeMarkdown, markdownContent, sanitizeMatrixHtml } from '../appservice/translation/formatting.ts';
import { mentions, type MatrixEvent } from '../appservice/translation/translate-inbound.ts';
import { malformation } from '../appservice/transport/event-intake.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/logging.ts';
import { startMosaic } from '../src/main.ts';

const quick = process.argv.includes('--quick');
/** Up to the largest message content the API accepts (100,000 characters) and a bit beyond for the parsers. */
const SIZES = quick ? [8_000, 16_000, 32_000] : [12_500, 25_000, 50_000, 100_000];

type Shape = { name: string; make: (n: number) => string };

/** Bodies built to defeat backtracking: long runs of an opener with no closer, nested openers, near-misses. */
const TEXT_SHAPES: Shape[] = [
  { name: 'open brackets  "[[[["', make: (n) => '['.repeat(n) },
  { name: 'link near-miss "[a](["', make: (n) => '[a]('.repeat(n / 4) },
  { name: 'emphasis "*a*a"', make: (n) => '*a'.repeat(n / 2) },
  { name: 'backticks "`a``"', make: (n) => '`a`'.repeat(n / 3).slice(0, n - 1) + '`' },
  { name: 'whitespace lines', make: (n) => '\n \t'.repeat(n / 3) + 'x' },
  { name: 'path-like "a/a/a"', make: (n) => 'a/'.repeat(n / 2) },
  { name: 'one long word', make: (n) => 'a'.repeat(n) },
  { name: 'mentions "@Bob @Bob"', make: (n) => '@Bob '.repeat(n / 5) },
  { name: 'html "<b><i><a"', make: (n) => '<b><i><a href="'.repeat(n / 16) },
  { name: 'quotes "\\"\\\\"', make: (n) => '!x ' + '"\\'.repeat(n / 2) },
];

interface Subject {
  name: string;
  run: (body: string) => unknown;
}

const SUBJECTS: Subject[] = [
  { name: 'looksLikeMarkdown (inbound Matrix)', run: (b) => looksLikeMarkdown(b) },
  { name: 'mentions (inbound Matrix)', run: (b) => mentions({ content: { body: b, formatted_body: b } } as unknown as MatrixEvent, '@mosaic_agent_x:hs', 'Bob the Builder') },
  { name: 'classifyMessage (routing)', run: (b) => classifyMessage({ text: b }) },
  { name: 'parseCommand (commands)', run: (b) => parseCommand(b) },
  { name: 'markdownContent (outbound Matrix)', run: (b) => markdownContent(b) },
  { name: 'sanitizeMatrixHtml (outbound Matrix)', run: (b) => sanitizeMatrixHtml(b) },
];

/** Nested JSON at the same byte sizes: the intake walk and the Matrix event check. */
function nested(n: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < n / 8; i++) v = { a: [v] };
  return v;
}

/**
 * One synchronous run of `fn` is one stall of the event loop. The median of
 * a few runs (after one that warms the JIT) is the figure: a shared,
 * busy machine adds noise that the median ignores and the worst does not.
 */
function stallMs(fn: () => unknown, reps = 5): number {
  fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    fn();
    runs.push(performance.now() - start);
  }
  return runs.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}

/** Growth per doubling over the whole range (first to last size): ~2 linear, ~4 quadratic; flat under 0.2 ms. */
function growth(times: number[]): string {
  const first = times[0]!;
  const last = times.at(-1)!;
  if (last < 0.2) return 'flat';
  const factor = (Math.max(last, 0.01) / Math.max(first, 0.01)) ** (1 / (times.length - 1));
  return `×${factor.toFixed(1)} per doubling`;
}

const pad = (s: string, n: number) => s.padEnd(n);
const ms = (t: number) => `${t.toFixed(1)} ms`.padStart(10);

console.log(`Part 1: synchronous stall per call (median of 5), sizes ${SIZES.join(', ')} characters`);
console.log(`${pad('subject / body', 62)}${SIZES.map((s) => String(s).padStart(10)).join('')}   growth`);
let worstOverall = { ms: 0, what: '' };
for (const subject of SUBJECTS) {
  for (const shape of TEXT_SHAPES) {
    const times = SIZES.map((n) => stallMs(() => subject.run(shape.make(n))));
    const top = Math.max(...times);
    if (top > worstOverall.ms) worstOverall = { ms: top, what: `${subject.name}, ${shape.name}, ${SIZES[times.indexOf(top)]} chars` };
    if (top < 1) continue; // Under a millisecond at every size: nothing to see.
    console.log(`${pad(`${subject.name}: ${shape.name}`, 62)}${times.map(ms).join('')}   ${growth(times)}`);
  }
}
{
  // For reference: the regex looksLikeMarkdown used before (quadratic), on the shape that showed it.
  const OLD = /(^|\n)\s*(#{1,6}\s|[-*+]\s|\d+\.\s|>\s|```)|`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)]+\)|(^|\s)_[^_]+_(\s|$)/;
  const before = SIZES.map((n) => stallMs(() => OLD.test('['.repeat(n)), 3));
  console.log(`${pad('(before) the looksLikeMarkdown regex: open brackets', 62)}${before.map(ms).join('')}   ${growth(before)}`);
  const times = SIZES.map((n) => {
    const value = nested(n);
    return stallMs(() => inspectJson(value, { ...API_LIMITS, maxDepth: Infinity }));
  });
  console.log(`${pad('inspectJson: nesting without a depth limit', 62)}${times.map(ms).join('')}   ${growth(times)}`);
  const event = (n: number) => ({ event_id: '$e', room_id: '!r:hs', type: 'm.room.message', sender: '@u:hs', origin_server_ts: 1, content: nested(n) });
  const checks = SIZES.map((n) => {
    const e = event(n);
    return stallMs(() => malformation(e));
  });
  console.log(`${pad('Matrix event check: nested content', 62)}${checks.map(ms).join('')}   ${growth(checks)}`);
}
console.log(`(rows under 1 ms at every size are left out)\nlargest in part 1: ${worstOverall.ms.toFixed(1)} ms (${worstOverall.what})\n`);

// ---- Part 2: the running gateway ------------------------------------------------------------------

const dataDir = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-hostile-'));
const config = parseConfig({
  http: { port: 0, rateLimitPerMinute: 1_000_000 },
  metrics: { enabled: false },
  database: { dataDir },
  valkey: { url: process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `bench-hostile-${process.pid}` },
  log: { level: 'silent' },
  providers: { anthropic: { enabled: false }, openai: { enabled: false }, openrouter: { enabled: false }, zai: { enabled: false }, ollama: { enabled: false } },
});
const running = await startMosaic({ config, logger: createLogger('silent') });
const { token } = await running.core.accounts.createUser({ username: 'bench' });
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(`${running.httpUrl}${p}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  await res.arrayBuffer();
  return res.status;
};
const conversation = (await (await fetch(`${running.httpUrl}/api/conversations`, { method: 'POST', headers, body: '{}' })).json()) as { id: string };

const histogram = monitorEventLoopDelay({ resolution: 1 });
/** The longest event-loop stall (ms) while `fn` runs, as monitorEventLoopDelay saw it. */
async function stall(fn: () => Promise<unknown>): Promise<number> {
  histogram.reset();
  histogram.enable();
  await fn();
  await new Promise((r) => setTimeout(r, 5));
  histogram.disable();
  return histogram.max / 1e6;
}

const REQUESTS: Array<{ name: string; send: (n: number) => Promise<unknown> }> = [
  ...TEXT_SHAPES.slice(0, 8).map((shape) => ({
    name: `POST message: ${shape.name}`,
    send: (n: number) => api('POST', `/api/conversations/${conversation.id}/messages`, { content: shape.make(Math.min(n, 100_000)) }),
  })),
  { name: 'GET search: long query of operators', send: (n: number) => api('GET', `/api/conversations/search?q=${encodeURIComponent('"a" -b OR '.repeat(Math.min(n, 500) / 10).slice(0, 500))}`) },
  { name: 'GET search: over the stored adversarial bodies', send: () => api('GET', `/api/conversations/search?q=${encodeURIComponent('a b')}`) },
  { name: 'POST nested JSON (refused at intake)', send: (n: number) => api('POST', '/api/conversations', `${'['.repeat(n / 2)}${']'.repeat(n / 2)}`) },
  { name: 'POST NUL in a title (refused at intake)', send: (n: number) => api('POST', '/api/conversations', { title: `${'a'.repeat(n)}\u0000` }) },
];

console.log(`Part 2: the running gateway (embedded PGlite), longest event-loop stall per request (monitorEventLoopDelay; median of 5 requests)`);
console.log(`${pad('request', 62)}${SIZES.map((s) => String(s).padStart(10)).join('')}   growth`);
let worstHttp = { ms: 0, what: '' };
for (const r of REQUESTS) {
  await r.send(SIZES[0]!);
  const times: number[] = [];
  for (const n of SIZES) {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(await stall(() => r.send(n)));
    times.push(runs.sort((a, b) => a - b)[2]!);
  }
  const top = Math.max(...times);
  if (top > worstHttp.ms) worstHttp = { ms: top, what: `${r.name}, ${SIZES[times.indexOf(top)]} chars` };
  console.log(`${pad(r.name, 62)}${times.map(ms).join('')}   ${growth(times)}`);
}
console.log(`largest in part 2: ${worstHttp.ms.toFixed(1)} ms (${worstHttp.what})`);
// Leave nothing behind in the shared Valkey.
const valkey = running.core.valkey;
let cursor = '0';
do {
  const [next, keys] = await valkey.scan(cursor, 'MATCH', `${config.valkey.keyPrefix}:*`, 'COUNT', 500);
  cursor = next;
  if (keys.length) await valkey.del(...keys);
} while (cursor !== '0');
await running.stop();
rmSync(dataDir, { recursive: true, force: true });
