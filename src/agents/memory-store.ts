/**
 * Memories and insights, per user. Similarity search runs on any PostgreSQL
 * (and PGlite): vectors are plain float arrays ranked by cosine similarity;
 * where the pgvector extension is installed the ranking runs in SQL instead.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sqlRows } from '../db/client.ts';
import { memories } from '../db/schema.ts';
import { badRequest, notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';

export interface Memory {
  id: string;
  kind: 'memory' | 'insight';
  content: string;
  tags: string[];
  agentId: string | null;
  createdAt: Date;
}

export interface MemoryHit extends Memory {
  score: number;
  /** How the hit was found: by vector similarity or, without embeddings, by words. */
  match: 'vector' | 'text';
}

type Row = typeof memories.$inferSelect;

function toMemory(row: Row): Memory {
  return { id: row.id, kind: row.kind, content: row.content, tags: row.tags, agentId: row.agentId, createdAt: row.createdAt };
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export const MAX_MEMORY_LENGTH = 8000;

export class MemoryStore {
  private pgvector: Promise<boolean> | null = null;

  constructor(private readonly db: Db) {}

  private hasPgvector(): Promise<boolean> {
    this.pgvector ??= sqlRows<{ present: boolean }>(this.db, sql`select exists (select 1 from pg_extension where extname = 'vector') as present`)
      .then((rows) => rows[0]?.present === true)
      .catch(() => false);
    return this.pgvector;
  }

  async save(actor: Actor, input: { content: string; kind?: 'memory' | 'insight'; tags?: string[]; agentId?: string | null; embedding?: number[] | null; embeddingModel?: string | null }): Promise<Memory> {
    const content = input.content.trim();
    if (!content) throw badRequest('a memory needs some content');
    if (content.length > MAX_MEMORY_LENGTH) throw badRequest(`a memory is at most ${MAX_MEMORY_LENGTH} characters`);
    const [row] = await this.db
      .insert(memories)
      .values({
        userId: actor.userId,
        content,
        kind: input.kind ?? 'memory',
        tags: input.tags ?? [],
        agentId: input.agentId ?? null,
        embedding: input.embedding ?? null,
        embeddingModel: input.embedding ? (input.embeddingModel ?? null) : null,
      })
      .returning();
    return toMemory(row!);
  }

  async get(actor: Actor, id: string): Promise<Memory> {
    const [row] = await this.db.select().from(memories).where(and(eq(memories.id, id), eq(memories.userId, actor.userId))).limit(1);
    if (!row) throw notFound('memory');
    return toMemory(row);
  }

  async list(actor: Actor, limit = 50): Promise<Memory[]> {
    const rows = await this.db.select().from(memories).where(eq(memories.userId, actor.userId)).orderBy(desc(memories.createdAt)).limit(limit);
    return rows.map(toMemory);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const rows = await this.db.delete(memories).where(and(eq(memories.id, id), eq(memories.userId, actor.userId))).returning({ id: memories.id });
    if (rows.length === 0) throw notFound('memory');
  }

  /** Nearest memories of the acting user to `embedding` (same model only). */
  async searchByVector(actor: Actor, embedding: number[], model: string, limit = 5): Promise<MemoryHit[]> {
    if (await this.hasPgvector()) {
      const vec = `[${embedding.join(',')}]`;
      const rows = await sqlRows<{ id: string; kind: 'memory' | 'insight'; content: string; tags: string[]; agent_id: string | null; created_at: string | Date; score: number }>(
        this.db,
        sql`select id, kind, content, tags, agent_id, created_at, 1 - (embedding::vector <=> ${vec}::vector) as score
            from memories
            where user_id = ${actor.userId} and embedding_model = ${model} and array_length(embedding, 1) = ${embedding.length}
            order by embedding::vector <=> ${vec}::vector limit ${limit}`,
      );
      return rows.map((r) => ({ id: r.id, kind: r.kind, content: r.content, tags: r.tags, agentId: r.agent_id, createdAt: new Date(r.created_at), score: Number(r.score), match: 'vector' }));
    }
    const rows = await this.db
      .select()
      .from(memories)
      .where(and(eq(memories.userId, actor.userId), eq(memories.embeddingModel, model), sql`array_length(${memories.embedding}, 1) = ${embedding.length}`));
    return rows
      .map((row) => ({ ...toMemory(row), score: cosine(embedding, row.embedding ?? []), match: 'vector' as const }))
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
  }

  /** Word search over the acting user's memories: the fallback when no embeddings can be computed. */
  async searchByText(actor: Actor, query: string, limit = 5): Promise<MemoryHit[]> {
    const rows = await sqlRows<{ id: string; kind: 'memory' | 'insight'; content: string; tags: string[]; agent_id: string | null; created_at: string | Date; score: number }>(
      this.db,
      sql`select id, kind, content, tags, agent_id, created_at,
                 ts_rank(to_tsvector('simple', content), plainto_tsquery('simple', ${query})) as score
          from memories
          where user_id = ${actor.userId} and to_tsvector('simple', content) @@ plainto_tsquery('simple', ${query})
          order by score desc, created_at desc limit ${limit}`,
    );
    return rows.map((r) => ({ id: r.id, kind: r.kind, content: r.content, tags: r.tags, agentId: r.agent_id, createdAt: new Date(r.created_at), score: Number(r.score), match: 'text' }));
  }
}
