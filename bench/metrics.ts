/**
 * What the metrics cost where it matters: one frame counted on the live
 * fan-out's hot path (the plain-number counter the live layer uses, against
 * a prom-client counter with labels, which it does not use for that reason),
 * a turn's worth of recording through the port, and one scrape of a
 * registry holding the series of a busy install. Prints figures; asserts
 * nothing.
 */
import { Counter, Registry } from 'prom-client';
import { createMetrics } from '../src/http/metrics.ts';
import { FrameCounter } from '../src/live/frame-counter.ts';
import { allCatalogueModels } from '../src/providers/catalogue.ts';
import { PROVIDER_NAMES } from '../src/providers/types.ts';

const N = 2_000_000;
const TYPES = ['answer:delta', 'message:new', 'answer:started', 'ack', 'session:info'];

function perCall(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(1).padStart(8)} ns/call`);
}

const frames = new FrameCounter();
perCall('frame counted (FrameCounter, as the live layer does)', N, (i) => frames.count('socket', TYPES[i % TYPES.length]!));
const registry = new Registry();
const counter = new Counter({ name: 'bench_frames_total', help: 'x', labelNames: ['kind', 'type'], registers: [registry] });
perCall('frame counted (prom-client Counter.inc with labels)', N, (i) => counter.inc({ kind: 'socket', type: TYPES[i % TYPES.length]! }));

const metrics = createMetrics();
const usage = { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 0 };
perCall('one turn recorded (provider call, model call, routing, answer)', 200_000, (i) => {
  const provider = PROVIDER_NAMES[i % PROVIDER_NAMES.length]!;
  metrics.port.providerCall({ provider, model: 'claude-haiku-5-5', ok: true, latencyMs: 800, userCredential: false });
  metrics.port.modelCall({ provider, model: 'claude-haiku-5-5', purpose: 'reply', usage, costUsd: 0.0003 });
  metrics.port.routingDecision({ outcome: 'routed', skipped: 0, by: { kind: 'system', name: `rule ${i % 12}` } });
  metrics.port.answer({ outcome: 'answered', provider, model: 'claude-haiku-5-5', seconds: 1.2, firstTokenSeconds: 0.4 });
});

// A busy install: every chat model of the catalogue used, failing now and then, plus the live counters.
for (const [m, model] of allCatalogueModels().filter((x) => !x.embedding).entries()) {
  const provider = model.provider;
  metrics.port.providerCall({ provider, model: model.id, ok: true, latencyMs: 900, userCredential: false });
  metrics.port.providerCall({ provider, model: model.id, ok: false, latencyMs: 900, error: { kind: m % 2 ? 'unavailable' : 'rate_limit' }, userCredential: m % 3 === 0 });
  metrics.port.modelCall({ provider, model: model.id, purpose: m % 3 ? 'reply' : 'summary', usage, costUsd: 0.001 });
  metrics.port.answer({ outcome: 'answered', provider, model: model.id, seconds: 2, firstTokenSeconds: 0.5 });
}
metrics.sources.live = () => ({ connections: { sockets: 1000, streams: 50 }, framesSent: frames.totals() });
for (let i = 0; i < 20; i++) await metrics.registry.metrics();
const scrapes = 200;
const start = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < scrapes; i++) bytes = (await metrics.registry.metrics()).length;
const ms = Number(process.hrtime.bigint() - start) / 1e6 / scrapes;
const lines = (await metrics.registry.metrics()).split('\n').filter((l) => l && !l.startsWith('#')).length;
console.log(`${'one scrape (no queue source)'.padEnd(58)} ${ms.toFixed(2).padStart(8)} ms  (${lines} series, ${Math.round(bytes / 1024)} KiB)`);
