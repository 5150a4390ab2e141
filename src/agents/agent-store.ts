/**
 * Agent configurations. System agents (no owner) are visible to everyone;
 * a user's own agents only to that user. Only admins change system agents.
 * An agent read by id (every turn of a conversation with an agent) comes
 * from memory: every change here drops the cache and tells `onChange`
 * listeners (the replica's invalidation publisher tells the others).
 */
import { and, asc, eq, isNull, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { agentConfigs } from '../db/schema.ts';
import { isUuid } from '../db/uuid.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import { ChangeListeners, KeyedCache } from '../cache/keyed-cache.ts';

export type AgentRow = typeof agentConfigs.$inferSelect;

export interface AgentConfig {
  id: string;
  ownerId: string | null;
  name: string;
  displayName: string;
  description: string;
  systemPrompt: string;
  provider: string | null;
  model: string | null;
  tools: string[];
  skills: string[];
  capabilities: { domains?: string[]; preferredModels?: string[]; taskTypes?: string[] };
  avatarUrl: string | null;
  /** Ids of the agents this one may delegate to or ask (docs/agents.md). */
  delegatesTo: string[];
  system: boolean;
}

export interface AgentInput {
  name: string;
  displayName?: string;
  description?: string;
  systemPrompt: string;
  provider?: string | null;
  model?: string | null;
  tools?: string[];
  skills?: string[];
  capabilities?: AgentConfig['capabilities'];
  avatarUrl?: string | null;
  /** Agents (names or ids) this one may delegate to; stored as ids. */
  delegatesTo?: string[];
}

/** Most agents one agent may delegate to. */
export const MAX_DELEGATES = 20;

export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function toAgent(row: AgentRow): AgentConfig {
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    displayName: row.displayName,
    description: row.description,
    systemPrompt: row.systemPrompt,
    provider: row.provider,
    model: row.model,
    tools: row.tools,
    skills: row.skills,
    capabilities: row.capabilities,
    avatarUrl: row.avatarUrl,
    delegatesTo: row.delegatesTo,
    system: row.ownerId === null,
  };
}

const visibleTo = (actor: Actor) => or(isNull(agentConfigs.ownerId), eq(agentConfigs.ownerId, actor.userId));

export class AgentStore {
  private readonly byId = new KeyedCache<AgentRow | null>();
  private readonly listeners = new ChangeListeners();

  constructor(private readonly db: Db) {}

  /** Called after every change of an agent (create, update, delete). */
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** Drops the cached agents (another replica changed one). */
  invalidate(): void {
    this.byId.invalidate();
  }

  private changed(): void {
    this.byId.invalidate();
    this.listeners.notify();
  }

  async list(actor: Actor): Promise<AgentConfig[]> {
    const rows = await this.db.select().from(agentConfigs).where(visibleTo(actor)).orderBy(sql`${agentConfigs.ownerId} is not null`, asc(agentConfigs.name));
    return rows.map(toAgent);
  }

  async get(actor: Actor, id: string): Promise<AgentConfig> {
    if (!isUuid(id)) throw notFound('agent');
    const row = await this.byId.get(id, async () => (await this.db.select().from(agentConfigs).where(eq(agentConfigs.id, id)).limit(1))[0] ?? null);
    // The same visibility as the query's: a system agent, or the actor's own.
    if (!row || (row.ownerId !== null && row.ownerId !== actor.userId)) throw notFound('agent');
    // A copy: the cached row is shared by every caller.
    return toAgent(structuredClone(row));
  }

  /** By name: the user's own agent wins over a system agent of the same name. */
  async findByName(actor: Actor, name: string): Promise<AgentConfig | null> {
    const rows = await this.db.select().from(agentConfigs).where(and(eq(agentConfigs.name, name.toLowerCase()), visibleTo(actor)));
    const own = rows.find((r) => r.ownerId === actor.userId);
    const chosen = own ?? rows[0];
    return chosen ? toAgent(chosen) : null;
  }

  async create(actor: Actor, input: AgentInput, options: { system?: boolean } = {}): Promise<AgentConfig> {
    if (options.system && actor.role !== 'admin') throw forbidden('only admins create system agents');
    const name = input.name.toLowerCase();
    if (!AGENT_NAME_PATTERN.test(name)) throw badRequest(`agent name "${input.name}" is not allowed: use 1–40 characters a-z, 0-9, '_' or '-'`);
    if (!input.systemPrompt.trim()) throw badRequest('an agent needs a system prompt');
    const ownerId = options.system ? null : actor.userId;
    await this.requireFreeName(ownerId, name, null);
    const delegatesTo = input.delegatesTo ? await this.resolveDelegates(ownerId, input.delegatesTo, { id: null, name }) : [];
    const [row] = await this.db
      .insert(agentConfigs)
      .values({
        ownerId,
        name,
        displayName: input.displayName ?? name,
        description: input.description ?? '',
        systemPrompt: input.systemPrompt,
        provider: input.provider ?? null,
        model: input.model ?? null,
        tools: input.tools ?? [],
        skills: input.skills ?? [],
        capabilities: input.capabilities ?? {},
        avatarUrl: input.avatarUrl ?? null,
        delegatesTo,
      })
      .returning();
    this.changed();
    return toAgent(row!);
  }

  private async editable(actor: Actor, id: string): Promise<AgentRow> {
    if (!isUuid(id)) throw notFound('agent');
    const [row] = await this.db.select().from(agentConfigs).where(and(eq(agentConfigs.id, id), visibleTo(actor))).limit(1);
    if (!row) throw notFound('agent');
    if (row.ownerId === null && actor.role !== 'admin') throw forbidden('system agents are changed by admins only');
    return row;
  }

  /** Names are unique per owner (system agents share one namespace): a second one is a conflict, not a database error. */
  private async requireFreeName(ownerId: string | null, name: string, exceptId: string | null): Promise<void> {
    const existing = await this.db
      .select({ id: agentConfigs.id })
      .from(agentConfigs)
      .where(and(eq(agentConfigs.name, name), ownerId ? eq(agentConfigs.ownerId, ownerId) : isNull(agentConfigs.ownerId), exceptId ? ne(agentConfigs.id, exceptId) : undefined))
      .limit(1);
    if (existing.length) throw conflict(ownerId ? `you already have an agent named "${name}"` : `a system agent named "${name}" already exists`);
  }

  async update(actor: Actor, id: string, patch: Partial<AgentInput>): Promise<AgentConfig> {
    const current = await this.editable(actor, id);
    if (patch.name !== undefined && !AGENT_NAME_PATTERN.test(patch.name.toLowerCase())) throw badRequest(`agent name "${patch.name}" is not allowed`);
    if (patch.name !== undefined) await this.requireFreeName(current.ownerId, patch.name.toLowerCase(), id);
    const { delegatesTo: wanted, ...rest } = patch;
    const delegatesTo = wanted ? await this.resolveDelegates(current.ownerId, wanted, { id, name: (patch.name ?? current.name).toLowerCase() }) : undefined;
    const [row] = await this.db
      .update(agentConfigs)
      .set({ ...rest, ...(patch.name ? { name: patch.name.toLowerCase() } : {}), ...(delegatesTo ? { delegatesTo } : {}), updatedAt: new Date() })
      .where(eq(agentConfigs.id, id))
      .returning();
    this.changed();
    return toAgent(row!);
  }

  /**
   * The agents named in `delegatesTo`, as ids. Each must be visible to the
   * agent's owner; a system agent (which runs for everyone) may only hand
   * work to other system agents, since a person's own agent is not there
   * for anyone else. An agent cannot delegate to itself.
   */
  private async resolveDelegates(ownerId: string | null, refs: string[], self: { id: string | null; name: string }): Promise<string[]> {
    if (refs.length > MAX_DELEGATES) throw badRequest(`delegatesTo names ${refs.length} agents; at most ${MAX_DELEGATES} are allowed`);
    const visible = await this.db.select().from(agentConfigs).where(ownerId ? or(isNull(agentConfigs.ownerId), eq(agentConfigs.ownerId, ownerId)) : isNull(agentConfigs.ownerId));
    const ids: string[] = [];
    for (const ref of refs) {
      const key = ref.trim().toLowerCase();
      const matches = visible.filter((r) => r.id === key || r.name === key);
      // The owner's own agent wins over a system agent of the same name, as when a person names one.
      const found = matches.find((r) => r.ownerId !== null) ?? matches[0];
      if (!found) {
        const names = visible.map((r) => r.name).filter((n) => n !== self.name);
        const scope = ownerId ? 'system agents and your own' : 'system agents (a system agent cannot delegate to a person\'s own agent)';
        throw badRequest(`delegatesTo: no agent "${ref}" among the ${scope}; available: ${names.join(', ') || 'none'}`);
      }
      if (found.id === self.id || (self.id === null && found.name === self.name && found.ownerId === ownerId)) throw badRequest(`delegatesTo: an agent cannot delegate to itself ("${found.name}")`);
      if (!ids.includes(found.id)) ids.push(found.id);
    }
    return ids;
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.editable(actor, id);
    await this.db.delete(agentConfigs).where(eq(agentConfigs.id, id));
    this.changed();
  }
}
