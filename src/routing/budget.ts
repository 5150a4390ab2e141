/**
 * Monthly budgets: how much of a user's budget this calendar month (UTC)
 * has spent, and what that means for routing. Pure arithmetic over numbers
 * the routing service looks up once per decision, so the router stays
 * deterministic and never queries anything per candidate.
 */

export const BUDGET_STATES = ['ok', 'economy', 'exhausted'] as const;
/** ok: any model; economy: economy-tier or free models only; exhausted: free (local) models only. */
export type BudgetState = (typeof BUDGET_STATES)[number];

export interface BudgetStatus {
  monthlyUsd: number;
  /** Where the budget comes from: the user's own setting, the configured default, or the team a shared conversation draws on. */
  source: 'user' | 'default' | 'team';
  spentUsd: number;
  /** Share of the budget from which only economy or free models are used. */
  economyAt: number;
  state: BudgetState;
  /** Start of the month the spend counts from (UTC). */
  periodStart: string;
  /** When the spend starts again from zero: the first of next month, 00:00 UTC. */
  resetsAt: string;
}

export function monthStart(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextMonthStart(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

export function budgetState(monthlyUsd: number, spentUsd: number, economyAt: number): BudgetState {
  if (spentUsd >= monthlyUsd) return 'exhausted';
  if (spentUsd >= economyAt * monthlyUsd) return 'economy';
  return 'ok';
}

export function budgetStatus(input: { monthlyUsd: number; source: BudgetStatus['source']; spentUsd: number; economyAt: number; now: number }): BudgetStatus {
  return {
    monthlyUsd: input.monthlyUsd,
    source: input.source,
    spentUsd: input.spentUsd,
    economyAt: input.economyAt,
    state: budgetState(input.monthlyUsd, input.spentUsd, input.economyAt),
    periodStart: monthStart(input.now).toISOString(),
    resetsAt: nextMonthStart(input.now).toISOString(),
  };
}

const STATE_ORDER: Record<BudgetState, number> = { ok: 0, economy: 1, exhausted: 2 };

/** The budget that narrows routing more (a person's own, or the team's a shared conversation draws on); the person's on a tie. */
export function stricterBudget(own: BudgetStatus | null, team: BudgetStatus | null): BudgetStatus | null {
  if (!own || !team) return own ?? team;
  return STATE_ORDER[team.state] > STATE_ORDER[own.state] ? team : own;
}

export const usd = (n: number): string => `$${n.toFixed(2)}`;

/** "80 % used ($16.10 of $20.00)" — the share is rounded down, so it never claims more than was spent. */
export function budgetUsage(b: Pick<BudgetStatus, 'monthlyUsd' | 'spentUsd'>): string {
  const share = b.monthlyUsd > 0 ? Math.floor((b.spentUsd / b.monthlyUsd) * 100) : 100;
  return `${share} % used (${usd(b.spentUsd)} of ${usd(b.monthlyUsd)})`;
}

/** "1 December 2026 (UTC)" */
export function resetDate(b: Pick<BudgetStatus, 'resetsAt'>): string {
  return `${new Date(b.resetsAt).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })} (UTC)`;
}

/** The one line routing reasons and skipped candidates carry. */
export function budgetConstraint(b: BudgetStatus): string | null {
  if (b.state === 'economy') return `monthly budget ${budgetUsage(b)}: economy models only`;
  if (b.state === 'exhausted') return `monthly budget used up (${usd(b.spentUsd)} of ${usd(b.monthlyUsd)}): free local models only until ${resetDate(b)}`;
  return null;
}

/** The sentence a person sees when the budget leaves no model to answer. */
export function budgetExhaustedNotice(b: BudgetStatus): string {
  return (
    `Your monthly budget is used up: ${usd(b.spentUsd)} spent of ${usd(b.monthlyUsd)} this month. ` +
    `Until it resets on ${resetDate(b)} only free local models (Ollama) can answer, and none is available right now. ` +
    'To keep going, raise your budget (`/budget 30` in any conversation, PATCH /api/me {"monthlyBudgetUsd": …}, or ask an admin) or start Ollama.'
  );
}
