/** Every model call's usage and cost, recorded against the session that made it (and counted in the metrics). */
import type { RunnerResult } from '../agents/runner.ts';
import type { Actor } from '../identity/actor.ts';
import type { ProviderName } from '../providers/types.ts';
import type { ModelDirectory } from '../routing/types.ts';
import { costUsd } from './pricing.ts';
import type { SessionStore, UsageCall } from './session-store.ts';
import { NO_METRICS, type MetricsPort } from '../metrics/metrics-port.ts';

export class CallLedger {
  constructor(
    private readonly sessions: SessionStore,
    private readonly directory: ModelDirectory,
    private readonly metrics: Pick<MetricsPort, 'modelCall'> = NO_METRICS,
  ) {}

  /**
   * Prices each call of a turn and counts it in the metrics, writing
   * nothing: the answer's own transaction stores the calls (turn-store.ts).
   */
  price(result: RunnerResult, provider: ProviderName, purpose: 'reply' | 'summary'): { calls: UsageCall[]; total: number } {
    const calls: UsageCall[] = result.calls.map((call) => {
      const cost = costUsd(this.directory.find(provider, call.model), call.usage);
      this.metrics.modelCall({ provider, model: call.model, purpose, usage: call.usage, costUsd: cost });
      return { provider, model: call.model, purpose, ...call.usage, costUsd: cost };
    });
    return { calls, total: calls.reduce((n, c) => n + c.costUsd, 0) };
  }

  /** Records each call of a turn; returns the turn's total cost in USD. `payer`: whose usage it counts to, when not `actor`'s (a team member who asked). */
  async record(
    actor: Actor,
    sessionId: string,
    result: RunnerResult,
    provider: ProviderName,
    scope: { conversationId: string; agentId: string | null },
    purpose: 'reply' | 'summary' | 'delegation',
    payer?: Actor,
  ): Promise<number> {
    let total = 0;
    for (const call of result.calls) {
      const cost = costUsd(this.directory.find(provider, call.model), call.usage);
      total += cost;
      await this.sessions.recordCall(actor, sessionId, { provider, model: call.model, purpose, ...call.usage, costUsd: cost }, { ...scope, ...(payer && payer.userId !== actor.userId ? { payerId: payer.userId } : {}) });
      this.metrics.modelCall({ provider, model: call.model, purpose, usage: call.usage, costUsd: cost });
    }
    return total;
  }
}
