/**
 * The durable intake of pushed events (appservice_transactions,
 * appservice_events), shared by every replica through PostgreSQL.
 *
 * - A transaction is remembered by (txnId, body hash): a homeserver that
 *   numbers transactions from 1 again after a restart sends a known txnId
 *   with other events, and those must still be delivered.
 * - An event's `event_id` is its identity: it is stored once, whatever
 *   transaction carries it, and processed once.
 * - Processing is claimed: a pending event whose `processed_at` is set is
 *   being worked on since then by some replica. A claim older than the
 *   lease (a replica that died mid-way) may be taken over.
 * - Every claim counts an attempt. An event that has used up its attempts
 *   (it fails, or it crashes whoever takes it) is marked failed with its
 *   reason and left behind: a poison event never holds up the others.
 */
import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { sqlRows, type Db } from '../../src/db/client.ts';
import { appserviceEvents, appserviceTransactions } from '../../src/db/schema.ts';
import { storableText } from '../../src/protocol/json-intake.ts';

export type StoredEvent = typeof appserviceEvents.$inferSelect;

/**
 * A `!link <token>` must be kept until it is processed (the journal is what
 * survives a crash), but not after: whoever can read the database could
 * otherwise redeem a still-valid token. Once an event is finished, a link
 * command's text (and any HTML or edited copy of it) is replaced. The match is
 * anchored, so it costs the same whatever the body holds.
 */
const LINK_COMMAND = String.raw`^\s*[!/]link\s+\S`;
const withoutLinkToken = sql`case when ${appserviceEvents.payload}->'content'->>'body' ~* ${LINK_COMMAND}
  then jsonb_set(${appserviceEvents.payload} #- '{content,formatted_body}' #- '{content,m.new_content}', '{content,body}', '"!link (token removed once processed)"')
  else ${appserviceEvents.payload} end`;

export interface IncomingEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  [key: string]: unknown;
}

export interface ClaimableEvent {
  eventId: string;
  roomId: string;
  sender: string;
  /** A `!`/`/` command (`!link`, `!new` …): what it changes, that person's later events elsewhere may rely on. */
  command: boolean;
}

/** A message body that is a command (anchored: costs the same whatever the body holds). */
const COMMAND = String.raw`^\s*[!/]`;

export class EventJournal {
  constructor(
    private readonly db: Db,
    /** How long a claim protects an event from other replicas. */
    private readonly claimLeaseMs = 120_000,
  ) {}

  async knownTransaction(txnId: string, bodyHash: string): Promise<boolean> {
    const rows = await this.db
      .select({ txnId: appserviceTransactions.txnId })
      .from(appserviceTransactions)
      .where(and(eq(appserviceTransactions.txnId, txnId), eq(appserviceTransactions.bodyHash, bodyHash)))
      .limit(1);
    return rows.length > 0;
  }

  /**
   * Stores the transaction's events (those not seen before) and the
   * transaction itself, atomically, in four round trips whatever the
   * number of events: BEGIN, one multi-row insert, the transaction, COMMIT.
   * Returns the ids of events new to us.
   */
  async record(txnId: string, bodyHash: string, events: IncomingEvent[]): Promise<string[]> {
    // An event id repeated inside one transaction is one event (the first copy), as a second insert would have skipped it.
    const seen = new Set<string>();
    const unique = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
    return this.db.transaction(async (tx) => {
      const base = Date.now();
      // One statement whatever the count, with six array parameters (not six per event): building and
      // sending a 100-row VALUES list cost more than twice as much as the insert itself.
      // Distinct receive times keep the homeserver's order within a transaction.
      const rows = unique.length
        ? await sqlRows<{ event_id: string }>(tx, sql`insert into ${appserviceEvents} (event_id, room_id, txn_id, type, sender, payload, received_at)
            select u.event_id, u.room_id, ${txnId}, u.type, u.sender, u.payload::jsonb, to_timestamp(u.received_ms / 1000.0)
            from unnest(${sql.param(unique.map((e) => e.event_id))}::text[], ${sql.param(unique.map((e) => e.room_id))}::text[],
                        ${sql.param(unique.map((e) => e.type))}::text[], ${sql.param(unique.map((e) => e.sender))}::text[],
                        ${sql.param(unique.map((e) => JSON.stringify(e)))}::text[], ${sql.param(unique.map((_, i) => base + i))}::float8[])
              as u(event_id, room_id, type, sender, payload, received_ms)
            on conflict do nothing
            returning event_id`)
        : [];
      await tx.insert(appserviceTransactions).values({ txnId, bodyHash, eventCount: events.length }).onConflictDoNothing();
      const fresh = new Set(rows.map((r) => r.event_id));
      return unique.filter((e) => fresh.has(e.event_id)).map((e) => e.event_id);
    });
  }

  /** Records an event that was skipped at intake (malformed), so the record shows it. */
  async recordSkipped(txnId: string, e: { event_id: string; room_id?: unknown; type?: unknown; sender?: unknown }, payload: Record<string, unknown>, reason: string): Promise<void> {
    await this.db
      .insert(appserviceEvents)
      .values({
        eventId: e.event_id,
        roomId: typeof e.room_id === 'string' ? e.room_id : '',
        txnId,
        type: typeof e.type === 'string' ? e.type : '',
        sender: typeof e.sender === 'string' ? e.sender : '',
        payload,
        status: 'skipped',
        error: reason,
        processedAt: new Date(),
      })
      .onConflictDoNothing();
  }

  /** Takes several events at once (one statement): those still claimable come back, in no particular order. */
  async claimMany(eventIds: readonly string[]): Promise<StoredEvent[]> {
    if (eventIds.length === 0) return [];
    const expired = new Date(Date.now() - this.claimLeaseMs);
    return this.db
      .update(appserviceEvents)
      .set({ processedAt: new Date(), attempts: sql`${appserviceEvents.attempts} + 1` })
      .where(and(inArray(appserviceEvents.eventId, [...eventIds]), eq(appserviceEvents.status, 'pending'), or(isNull(appserviceEvents.processedAt), lt(appserviceEvents.processedAt, expired))))
      .returning();
  }

  /**
   * Records what became of several events in one statement. Until it runs
   * they stay claimed: a crash before it has them taken again once the lease
   * runs out, and handling an event twice is harmless (messages are stored
   * by event id, sends use transaction ids derived from it).
   */
  async finishMany(results: ReadonlyArray<{ eventId: string; status: 'done' | 'skipped' | 'failed'; error?: string }>): Promise<void> {
    if (results.length === 0) return;
    // Array parameters, as for storing a transaction (record): three, not three per event.
    await this.db.execute(sql`update ${appserviceEvents}
      set status = v.status, error = v.error, processed_at = now(), payload = ${withoutLinkToken}
      from unnest(${sql.param(results.map((r) => r.eventId))}::text[], ${sql.param(results.map((r) => r.status))}::text[],
                  ${sql.param(results.map((r) => (r.error === undefined ? null : storableText(r.error))))}::text[]) as v(event_id, status, error)
      where ${appserviceEvents.eventId} = v.event_id`);
  }

  /** Remembers why an attempt failed while the event keeps its claim (it is retried when the lease runs out). */
  async noteFailure(eventId: string, error: string): Promise<void> {
    await this.db.update(appserviceEvents).set({ error: storableText(error) }).where(and(eq(appserviceEvents.eventId, eventId), eq(appserviceEvents.status, 'pending')));
  }

  /** Gives an event back (a transient failure): another attempt may claim it at once. */
  async release(eventId: string, error: string): Promise<void> {
    await this.db.update(appserviceEvents).set({ processedAt: null, error: storableText(error) }).where(and(eq(appserviceEvents.eventId, eventId), eq(appserviceEvents.status, 'pending')));
  }

  /**
   * Pending events nobody holds, oldest first: left by a crash, or by a
   * transaction answered before its processing. With their room and sender,
   * which decide what may be processed side by side.
   */
  async claimable(limit = 100, txnId?: string): Promise<ClaimableEvent[]> {
    const expired = new Date(Date.now() - this.claimLeaseMs);
    return this.db
      .select({
        eventId: appserviceEvents.eventId,
        roomId: appserviceEvents.roomId,
        sender: appserviceEvents.sender,
        command: sql<boolean>`coalesce(${appserviceEvents.payload}->'content'->>'body' ~ ${COMMAND}, false)`.mapWith(Boolean),
      })
      .from(appserviceEvents)
      .where(
        and(
          eq(appserviceEvents.status, 'pending'),
          or(isNull(appserviceEvents.processedAt), lt(appserviceEvents.processedAt, expired)),
          txnId === undefined ? undefined : eq(appserviceEvents.txnId, txnId),
        ),
      )
      // Rows stored before intake checked origin_server_ts may hold anything there: the cast never fails the query.
      .orderBy(asc(appserviceEvents.receivedAt), asc(sql`case when jsonb_typeof(${appserviceEvents.payload}->'origin_server_ts') = 'number' then (${appserviceEvents.payload}->>'origin_server_ts')::numeric end`))
      .limit(limit);
  }

  async get(eventId: string): Promise<StoredEvent | null> {
    const [row] = await this.db.select().from(appserviceEvents).where(eq(appserviceEvents.eventId, eventId)).limit(1);
    return row ?? null;
  }

  /** Forgets transaction ids older than `olderThanMs` (the event ids stay: they are the identity). */
  async pruneTransactions(olderThanMs: number): Promise<number> {
    const rows = await this.db
      .delete(appserviceTransactions)
      .where(lt(appserviceTransactions.receivedAt, new Date(Date.now() - olderThanMs)))
      .returning({ txnId: appserviceTransactions.txnId });
    return rows.length;
  }
}
