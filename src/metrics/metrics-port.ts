/**
 * What Mosaic's parts tell the operator's metrics, as one narrow port. Domain
 * code (conversations, routing) and the job system record through it and
 * never see Prometheus: src/http/metrics.ts implements it, and the
 * composition root hands that in. Values are passed as they are (any model
 * name a user typed, any rule name); bounding them to a few label values is
 * the implementation's job, so no caller can grow a series by mistake.
 */
import type { ProviderName, Usage } from '../providers/types.ts';

/** One model call as the ledger bills it. */
export interface ModelCallRecord {
  provider: ProviderName;
  model: string;
  purpose: 'reply' | 'summary' | 'delegation';
  usage: Usage;
  costUsd: number;
}

/** One provider request as its stream guard ends it (the shape of the guard's ChatOutcome). */
export interface ProviderCallRecord {
  provider: ProviderName;
  model?: string;
  ok: boolean;
  latencyMs: number;
  error?: { kind: string };
  userCredential: boolean;
}

/** A routing decision made for a message (not a dry run such as /api/routing/explain). */
export interface RoutingRecord {
  /** 'refused' codes are outcomes of their own. */
  outcome: 'routed' | 'no_usable_provider' | 'local_only_unavailable' | 'budget_exhausted';
  /** Candidates skipped before the one chosen (0 for a first choice). */
  skipped: number;
  /** Which rule decided: a system rule (by name), a user's own rule, the /model pin, or none. */
  by: { kind: 'system'; name: string } | { kind: 'user' } | { kind: 'pin' } | { kind: 'none' };
}

export type AnswerOutcome = 'answered' | 'failed' | 'stopped' | 'refused' | 'error';

/** One answer, from the moment its message was taken up to the stored reply. */
export interface AnswerRecord {
  outcome: AnswerOutcome;
  /** The model that answered last (null: none was chosen). */
  provider: ProviderName | null;
  model: string | null;
  seconds: number;
  /** Until the first text or thinking reached the surfaces; null when none did. */
  firstTokenSeconds: number | null;
}

export type JobOutcome = 'completed' | 'failed' | 'retried';

/** A queue's job counts by state, as the job system reads them at scrape time. */
export interface QueueDepth {
  queue: string;
  counts: Record<string, number>;
  /** An admin paused it: nothing is taken from it until resumed. */
  paused: boolean;
}

/** What one replica's live layer holds and has sent, read at scrape time. */
export interface LiveCounts {
  connections: { sockets: number; streams: number };
  /** Frames written since start, by connection kind and frame type. */
  framesSent: Array<{ kind: string; type: string; count: number }>;
}

export interface MetricsPort {
  modelCall(record: ModelCallRecord): void;
  providerCall(record: ProviderCallRecord): void;
  providerRetry(provider: ProviderName, errorKind: string): void;
  routingDecision(record: RoutingRecord): void;
  answer(record: AnswerRecord): void;
  /** A job started its first run, `waitSeconds` after it became ready to run. */
  jobStarted(queue: string, waitSeconds: number): void;
  jobFinished(queue: string, outcome: JobOutcome, seconds: number): void;
}

/** For callers built without metrics (tests, CLI processes). */
export const NO_METRICS: MetricsPort = {
  modelCall: () => undefined,
  providerCall: () => undefined,
  providerRetry: () => undefined,
  routingDecision: () => undefined,
  answer: () => undefined,
  jobStarted: () => undefined,
  jobFinished: () => undefined,
};
