/**
 * The Prometheus side of the metrics port (src/metrics/metrics-port.ts):
 * what the answering path, routing, the providers and the job system record,
 * as `mosaic_*` series with bounded labels (metric-labels.ts), and the
 * values read at scrape time — queue depths from BullMQ's counts, live
 * connections and frames — through `collect()` callbacks, never polled.
 * docs/operations.md says what each series means.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LiveCounts, MetricsPort, QueueDepth } from '../metrics/metrics-port.ts';
import type { LabelPolicy } from './metric-labels.ts';

/** Scrape-time sources the composition root plugs in once the parts exist. */
export interface ScrapeSources {
  queues?: () => Promise<QueueDepth[]>;
  live?: () => LiveCounts;
}

/** A scrape never waits longer than this for Valkey: a slow queue count leaves the depth out, not the scrape. */
const QUEUE_COUNT_TIMEOUT_MS = 2000;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

export function createDomainMetrics(registry: Registry, labels: LabelPolicy, onCollectError: (what: string, err: unknown) => void): { port: MetricsPort; sources: ScrapeSources } {
  const registers = [registry];
  const providerSeconds = new Histogram({
    name: 'mosaic_provider_request_seconds',
    help: 'Provider chat requests: time from the request to the end of its stream (retries included), by provider, model and outcome (ok or error)',
    labelNames: ['provider', 'model', 'outcome'],
    buckets: [0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160],
    registers,
  });
  const providerErrors = new Counter({
    name: 'mosaic_provider_errors_total',
    help: 'Provider chat requests that ended in an error, by provider, model, error kind and whose key was used (system or user)',
    labelNames: ['provider', 'model', 'kind', 'credential'],
    registers,
  });
  const providerRetries = new Counter({ name: 'mosaic_provider_retries_total', help: 'Provider requests retried after a transient error, by provider and error kind', labelNames: ['provider', 'kind'], registers });
  const tokens = new Counter({
    name: 'mosaic_tokens_total',
    help: 'Tokens billed by providers, by provider, model, purpose (reply, summary or delegation) and type (input, output, cache_read, cache_write)',
    labelNames: ['provider', 'model', 'purpose', 'type'],
    registers,
  });
  const cost = new Counter({ name: 'mosaic_cost_usd_total', help: 'Cost of model calls in USD at catalogue prices, by provider, model and purpose', labelNames: ['provider', 'model', 'purpose'], registers });
  const routing = new Counter({
    name: 'mosaic_routing_decisions_total',
    help: 'Routing decisions made for messages, by the rule that decided (a system rule by name, user, pin, none) and outcome (routed, fallback, or the refusal code)',
    labelNames: ['rule', 'outcome'],
    registers,
  });
  const answerSeconds = new Histogram({
    name: 'mosaic_answer_seconds',
    help: 'Answers: time from taking the message up to the stored reply or notice, by provider, model and outcome',
    labelNames: ['provider', 'model', 'outcome'],
    buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 300],
    registers,
  });
  const firstToken = new Histogram({
    name: 'mosaic_answer_first_token_seconds',
    help: 'Answers: time from taking the message up to the first text or thinking reaching the surfaces, by provider and model',
    labelNames: ['provider', 'model'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40],
    registers,
  });
  const jobWait = new Histogram({
    name: 'mosaic_job_wait_seconds',
    help: 'Jobs: time from ready to run (enqueued, or its delay over) to the start of its first run, by queue',
    labelNames: ['queue'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });
  const jobSeconds = new Histogram({
    name: 'mosaic_job_run_seconds',
    help: 'Job runs: duration by queue and outcome (completed, retried, failed)',
    labelNames: ['queue', 'outcome'],
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300],
    registers,
  });

  const sources: ScrapeSources = {};
  // Both gauges come from one read of Valkey per scrape.
  let depthsRead: Promise<QueueDepth[] | null> | null = null;
  const readDepths = () =>
    (depthsRead ??= (async () => {
      if (!sources.queues) return null;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          sources.queues(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`queue counts took longer than ${QUEUE_COUNT_TIMEOUT_MS} ms`)), QUEUE_COUNT_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        onCollectError('queue depths', err);
        return null;
      } finally {
        clearTimeout(timer);
        setImmediate(() => (depthsRead = null));
      }
    })());
  new Gauge({
    name: 'mosaic_queue_jobs',
    help: 'Jobs in each queue by state (waiting, active, delayed, prioritized, failed), read from Valkey at scrape time; the same for every replica',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const d of (await readDepths()) ?? []) for (const state of QUEUE_STATES) this.set({ queue: d.queue, state }, d.counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'mosaic_queue_paused',
    help: '1 while an admin has paused the queue (its jobs wait until it is resumed), else 0',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const d of (await readDepths()) ?? []) this.set({ queue: d.queue }, d.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mosaic_live_connections',
    help: "Live connections open on this replica, by kind (socket, stream)",
    labelNames: ['kind'],
    registers,
    collect() {
      const live = sources.live?.();
      if (!live) return;
      this.set({ kind: 'socket' }, live.connections.sockets);
      this.set({ kind: 'stream' }, live.connections.streams);
    },
  });
  new Counter({
    name: 'mosaic_live_frames_sent_total',
    help: 'Frames written to live connections by this replica, by connection kind and frame type',
    labelNames: ['kind', 'type'],
    registers,
    collect() {
      const live = sources.live?.();
      if (!live) return;
      // The live layer counts in plain numbers on its hot path; the totals are copied here.
      this.reset();
      for (const f of live.framesSent) this.inc({ kind: f.kind, type: f.type }, f.count);
    },
  });

  const seconds = (ms: number) => Math.max(0, ms) / 1000;
  const port: MetricsPort = {
    modelCall(r) {
      const provider = labels.provider(r.provider);
      const model = labels.model(r.provider, r.model);
      const base = { provider, model, purpose: r.purpose };
      tokens.inc({ ...base, type: 'input' }, r.usage.inputTokens);
      tokens.inc({ ...base, type: 'output' }, r.usage.outputTokens);
      tokens.inc({ ...base, type: 'cache_read' }, r.usage.cacheReadTokens);
      tokens.inc({ ...base, type: 'cache_write' }, r.usage.cacheWriteTokens);
      cost.inc(base, r.costUsd);
    },
    providerCall(r) {
      const provider = labels.provider(r.provider);
      const model = labels.model(r.provider, r.model);
      providerSeconds.observe({ provider, model, outcome: r.ok ? 'ok' : 'error' }, seconds(r.latencyMs));
      if (!r.ok) providerErrors.inc({ provider, model, kind: labels.errorKind(r.error?.kind ?? 'other'), credential: r.userCredential ? 'user' : 'system' });
    },
    providerRetry(provider, kind) {
      providerRetries.inc({ provider: labels.provider(provider), kind: labels.errorKind(kind) });
    },
    routingDecision(r) {
      routing.inc({ rule: labels.rule(r.by), outcome: r.outcome === 'routed' && r.skipped > 0 ? 'fallback' : r.outcome });
    },
    answer(r) {
      const provider = labels.provider(r.provider);
      const model = labels.model(r.provider, r.model);
      answerSeconds.observe({ provider, model, outcome: r.outcome }, r.seconds);
      if (r.firstTokenSeconds !== null) firstToken.observe({ provider, model }, r.firstTokenSeconds);
    },
    jobStarted(queue, waitSeconds) {
      jobWait.observe({ queue }, Math.max(0, waitSeconds));
    },
    jobFinished(queue, outcome, runSeconds) {
      jobSeconds.observe({ queue, outcome }, Math.max(0, runSeconds));
    },
  };
  return { port, sources };
}
