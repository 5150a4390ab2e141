/**
 * Sessions nobody will end by hand: active ones that went quiet, or whose
 * conversation was archived or deleted. Ending them closes their metrics.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sqlRows } from '../db/client.ts';

export interface OrphanedSessionsOptions {
  /** Active sessions with no activity for this long are ended. */
  idleMs: number;
  now?: Date;
}

/** Ends orphaned sessions and returns their ids. Safe to run twice: ended rows are left alone. */
export async function endOrphanedSessions(db: Db, options: OrphanedSessionsOptions): Promise<string[]> {
  const now = options.now ?? new Date();
  const idleBefore = new Date(now.getTime() - options.idleMs).toISOString();
  const rows = await sqlRows<{ id: string }>(
    db,
    sql`update sessions s
           set status = 'ended', ended_at = ${now.toISOString()}::timestamptz
          from conversations c
         where c.id = s.conversation_id
           and s.status = 'active'
           and (s.last_activity_at < ${idleBefore}::timestamptz or c.archived_at is not null or c.deleted_at is not null)
     returning s.id`,
  );
  return rows.map((r) => r.id);
}
