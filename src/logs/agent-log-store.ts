/**
 * The `agent_logs` table: lifecycle lines of jobs and agents, and the tier
 * moves (hot → warm → cold → deleted) that keep it small.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sqlRows } from '../db/client.ts';
import { agentLogs } from '../db/schema.ts';

export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AgentLogEntry {
  source: string;
  event: string;
  level?: AgentLogLevel;
  message?: string;
  queue?: string | null;
  jobId?: string | null;
  attempt?: number | null;
  error?: string | null;
  userId?: string | null;
  agentId?: string | null;
  conversationId?: string | null;
  data?: Record<string, unknown>;
}

export interface AgentLogLine {
  id: number;
  level: AgentLogLevel;
  tier: 'hot' | 'warm' | 'cold';
  source: string;
  event: string;
  message: string;
  queue: string | null;
  jobId: string | null;
  attempt: number | null;
  error: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface TierThresholds {
  warmAfterDays: number;
  coldAfterDays: number;
  deleteAfterDays: number;
}

export interface TierResult {
  warmed: number;
  cooled: number;
  deleted: number;
}

const DAY_MS = 86_400_000;

export class AgentLogStore {
  constructor(private readonly db: Db) {}

  async append(entry: AgentLogEntry): Promise<void> {
    await this.db.insert(agentLogs).values({
      source: entry.source,
      event: entry.event,
      level: entry.level ?? 'info',
      message: entry.message ?? '',
      queue: entry.queue ?? null,
      jobId: entry.jobId ?? null,
      attempt: entry.attempt ?? null,
      error: entry.error ?? null,
      userId: entry.userId ?? null,
      agentId: entry.agentId ?? null,
      conversationId: entry.conversationId ?? null,
      data: entry.data ?? {},
    });
  }

  async listForJob(queue: string, jobId: string, limit = 500): Promise<AgentLogLine[]> {
    const rows = await this.db
      .select()
      .from(agentLogs)
      .where(and(eq(agentLogs.queue, queue), eq(agentLogs.jobId, jobId)))
      .orderBy(asc(agentLogs.createdAt), asc(agentLogs.id))
      .limit(limit);
    return rows.map((r) => ({
      id: r.id,
      level: r.level,
      tier: r.tier,
      source: r.source,
      event: r.event,
      message: r.message,
      queue: r.queue,
      jobId: r.jobId,
      attempt: r.attempt,
      error: r.error,
      data: r.data,
      createdAt: r.createdAt,
    }));
  }

  /**
   * Moves lines down the tiers by age and deletes the oldest. Each step is
   * one statement, so a crash midway leaves every line in a valid tier and
   * the next run finishes the work.
   */
  async applyTiers(thresholds: TierThresholds, now: Date = new Date()): Promise<TierResult> {
    if (!(thresholds.warmAfterDays < thresholds.coldAfterDays && thresholds.coldAfterDays < thresholds.deleteAfterDays)) {
      throw new Error(
        `jobs.logTiers must grow: warmAfterDays (${thresholds.warmAfterDays}) < coldAfterDays (${thresholds.coldAfterDays}) < deleteAfterDays (${thresholds.deleteAfterDays})`,
      );
    }
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
    const count = async (statement: ReturnType<typeof sql>) => {
      const rows = await sqlRows<{ n: number }>(this.db, sql`with changed as (${statement} returning 1) select count(*)::int as n from changed`);
      return Number(rows[0]?.n ?? 0);
    };
    const deleted = await count(sql`delete from agent_logs where created_at < ${before(thresholds.deleteAfterDays)}::timestamptz`);
    const cooled = await count(
      sql`update agent_logs set tier = 'cold' where tier in ('hot', 'warm') and created_at < ${before(thresholds.coldAfterDays)}::timestamptz`,
    );
    const warmed = await count(sql`update agent_logs set tier = 'warm' where tier = 'hot' and created_at < ${before(thresholds.warmAfterDays)}::timestamptz`);
    return { warmed, cooled, deleted };
  }
}
