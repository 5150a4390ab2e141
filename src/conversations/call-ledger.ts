/** Every model call's usage and cost, recorded against the session that made it (and counted in the metrics). */
import type { RunnerResult } from '../agents/runner.ts';
import type { Actor } from '../identity/actor.ts';
import type { ProviderName } from '../providers/types.ts';
import type { ModelDirectory } from '../routing/types.ts';
import { costUsd } from './pricing.ts';
import type { SessionStore } from './session-store.ts';
import { NO_METRICS, type MetricsPort } from '../metrics/metrics-port.ts';

export class CallLedger {
  constructor(
    private readonly sessions: SessionStore,
    private readonly directory: ModelDirectory,
    private readonly metrics: Pick<MetricsPort, 'modelCall'> = NO_METRICS,
  ) {}

  /** Records each call of a turn; returns the turn's total cost in USD. */
  async record(actor: Actor, sessionId: string, result: RunnerResult, provider: ProviderName, scope: { conversationId: string; agentId: string | null }, purpose: 'reply' | 'summary' | 'delegation'): Promise<number> {
    let total = 0;
    for (const call of result.calls) {
      const cost = costUsd(this.directory.find(provider, call.model), call.usage);
      total += cost;
      await this.sessions.recordCall(actor, sessionId, { provider, model: call.model, purpose, ...call.usage, costUsd: cost }, scope);
      this.metrics.modelCall({ provider, model: call.model, purpose, usage: call.usage, costUsd: cost });
    }
    return total;
  }
}
