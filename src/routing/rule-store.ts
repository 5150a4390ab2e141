/**
 * Routing rules in PostgreSQL: the only module with routing SQL. Every call
 * takes the acting user; system rules (owner null) are changed only by
 * admins, a user's rules only by that user, and another user's rule is
 * "not found" rather than "forbidden", so ids reveal nothing.
 */
import { ChangeListeners } from '../cache/keyed-cache.ts';
import { and, asc, eq, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { agentConfigs, routingRules, userDisabledRules } from '../db/schema.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import {
  actionSchema,
  conditionSchema,
  createRuleSchema,
  modelRefSchema,
  reorderSchema,
  updateRuleSchema,
  validated,
  type RoutingRule,
} from './rule-schema.ts';
import { z } from 'zod';

type Row = typeof routingRules.$inferSelect;

/** A rule as listed to a person: whose it is, and whether they switched it off for themselves. */
export interface ListedRule extends RoutingRule {
  scope: 'system' | 'user';
  disabledForMe: boolean;
  /** Set when the stored JSON no longer validates: the router skips such a rule. */
  invalid?: string;
}

const storedSchema = z.object({ conditions: z.array(conditionSchema), action: actionSchema, fallbacks: z.array(modelRefSchema) });

function toRule(row: Row): { rule: RoutingRule; invalid?: string } {
  const parsed = storedSchema.safeParse({ conditions: row.conditions, action: row.action, fallbacks: row.fallbacks });
  const base = { id: row.id, name: row.name, description: row.description, priority: row.priority, enabled: row.enabled, ownerId: row.ownerId, updatedAt: row.updatedAt };
  if (parsed.success) return { rule: { ...base, ...parsed.data } };
  return {
    rule: { ...base, conditions: [], action: { routeTo: { provider: 'ollama', model: '' } }, fallbacks: [] },
    invalid: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  };
}

const PRIORITY_STEP = 10;

export class RuleStore {
  private readonly listeners = new ChangeListeners();

  constructor(private readonly db: Db) {}

  /** Called after every change of a rule or of a user's disabled rules (caches drop what they hold). */
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  private changed(): void {
    this.listeners.notify();
  }

  /** What the router needs for one user: their enabled rules, and the system rules they have not disabled. */
  async rulesFor(userId: string | null): Promise<{ userRules: RoutingRule[]; systemRules: RoutingRule[] }> {
    const rows = await this.db
      .select()
      .from(routingRules)
      .where(and(eq(routingRules.enabled, true), userId ? or(isNull(routingRules.ownerId), eq(routingRules.ownerId, userId)) : isNull(routingRules.ownerId)))
      .orderBy(asc(routingRules.priority), asc(routingRules.name), asc(routingRules.id));
    const disabled = userId ? await this.disabledIds(userId) : new Set<string>();
    const userRules: RoutingRule[] = [];
    const systemRules: RoutingRule[] = [];
    for (const row of rows) {
      const { rule, invalid } = toRule(row);
      if (invalid) continue;
      if (row.ownerId === null) {
        if (!disabled.has(row.id)) systemRules.push(rule);
      } else userRules.push(rule);
    }
    return { userRules, systemRules };
  }

  /** The user's own rules first, then system rules, each by priority. */
  async listVisible(actor: Actor): Promise<ListedRule[]> {
    const rows = await this.db
      .select()
      .from(routingRules)
      .where(or(isNull(routingRules.ownerId), eq(routingRules.ownerId, actor.userId)))
      .orderBy(asc(routingRules.priority), asc(routingRules.name), asc(routingRules.id));
    const disabled = await this.disabledIds(actor.userId);
    const listed = rows.map((row): ListedRule => {
      const { rule, invalid } = toRule(row);
      return { ...rule, scope: row.ownerId === null ? 'system' : 'user', disabledForMe: disabled.has(row.id), ...(invalid ? { invalid } : {}) };
    });
    return [...listed.filter((r) => r.scope === 'user'), ...listed.filter((r) => r.scope === 'system')];
  }

  async get(actor: Actor, id: string): Promise<ListedRule> {
    const row = await this.visibleRow(actor, id);
    const { rule, invalid } = toRule(row);
    const disabled = row.ownerId === null && (await this.disabledIds(actor.userId)).has(row.id);
    return { ...rule, scope: row.ownerId === null ? 'system' : 'user', disabledForMe: disabled, ...(invalid ? { invalid } : {}) };
  }

  /** `input` is validated here (createRuleSchema): API bodies arrive untyped. */
  async create(actor: Actor, input: unknown): Promise<RoutingRule> {
    const body = validated(createRuleSchema, input);
    if (body.scope === 'system' && actor.role !== 'admin') throw forbidden('only admins create system rules; leave out "scope" (or use "user") for a rule of your own');
    const ownerId = body.scope === 'system' ? null : actor.userId;
    await this.requireAgentFor(ownerId, body.action.routeTo.agentConfigId);
    const priority = body.priority ?? (await this.nextPriority(ownerId));
    const [row] = await this.db
      .insert(routingRules)
      .values({ ownerId, name: body.name, description: body.description, priority, enabled: body.enabled, conditions: body.conditions, action: body.action, fallbacks: body.fallbacks })
      .returning();
    this.changed();
    return toRule(row!).rule;
  }

  async update(actor: Actor, id: string, input: unknown): Promise<RoutingRule> {
    const body = validated(updateRuleSchema, input);
    const row = await this.writableRow(actor, id);
    await this.requireAgentFor(row.ownerId, body.action?.routeTo.agentConfigId);
    const [updated] = await this.db
      .update(routingRules)
      .set({ ...body, updatedAt: new Date() })
      .where(eq(routingRules.id, row.id))
      .returning();
    this.changed();
    return toRule(updated!).rule;
  }

  async remove(actor: Actor, id: string): Promise<void> {
    const row = await this.writableRow(actor, id);
    await this.db.delete(routingRules).where(eq(routingRules.id, row.id));
    this.changed();
  }

  /** Gives the listed rules priorities 10, 20, … in the order given; the list must name every rule of the scope. */
  async reorder(actor: Actor, input: unknown): Promise<RoutingRule[]> {
    const body = validated(reorderSchema, input);
    if (body.scope === 'system' && actor.role !== 'admin') throw forbidden('only admins reorder system rules');
    const ownerId = body.scope === 'system' ? null : actor.userId;
    const rows = await this.db.select({ id: routingRules.id }).from(routingRules).where(ownerId ? eq(routingRules.ownerId, ownerId) : isNull(routingRules.ownerId));
    const existing = new Set(rows.map((r) => r.id));
    const unknown = body.ids.filter((id) => !existing.has(id));
    const missing = [...existing].filter((id) => !body.ids.includes(id));
    if (unknown.length || missing.length) {
      throw badRequest(
        [unknown.length ? `not ${body.scope === 'system' ? 'system' : 'your'} rules: ${unknown.join(', ')}` : '', missing.length ? `missing from the new order: ${missing.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
        { unknown, missing },
      );
    }
    const now = new Date();
    await this.db.transaction(async (tx) => {
      for (const [i, id] of body.ids.entries()) {
        await tx.update(routingRules).set({ priority: (i + 1) * PRIORITY_STEP, updatedAt: now }).where(eq(routingRules.id, id));
      }
    });
    this.changed();
    const after = await this.db.select().from(routingRules).where(inArray(routingRules.id, body.ids)).orderBy(asc(routingRules.priority));
    return after.map((r) => toRule(r).rule);
  }

  /** Switches a system rule off (or back on) for this user only. */
  async setDisabledForMe(actor: Actor, ruleId: string, disabled: boolean): Promise<void> {
    const row = await this.visibleRow(actor, ruleId);
    if (row.ownerId !== null) throw badRequest('only system rules are disabled per user; to switch off your own rule, update it with {"enabled": false}');
    if (disabled) await this.db.insert(userDisabledRules).values({ userId: actor.userId, ruleId }).onConflictDoNothing();
    else await this.db.delete(userDisabledRules).where(and(eq(userDisabledRules.userId, actor.userId), eq(userDisabledRules.ruleId, ruleId)));
    this.changed();
  }

  /**
   * A rule may name only an agent everyone it applies to can see: a user's
   * rule their own agent or a system one, a system rule a system agent.
   * Anything else is "not found", so an id reveals nothing.
   */
  private async requireAgentFor(ownerId: string | null, agentConfigId: string | undefined): Promise<void> {
    if (agentConfigId === undefined) return;
    const rows = await this.db
      .select({ id: agentConfigs.id })
      .from(agentConfigs)
      .where(and(eq(agentConfigs.id, agentConfigId), ownerId ? or(isNull(agentConfigs.ownerId), eq(agentConfigs.ownerId, ownerId)) : isNull(agentConfigs.ownerId)))
      .limit(1);
    if (rows.length === 0) throw notFound(`agent ${agentConfigId} (action.routeTo.agentConfigId)`);
  }

  private async disabledIds(userId: string): Promise<Set<string>> {
    const rows = await this.db.select({ ruleId: userDisabledRules.ruleId }).from(userDisabledRules).where(eq(userDisabledRules.userId, userId));
    return new Set(rows.map((r) => r.ruleId));
  }

  private async visibleRow(actor: Actor, id: string): Promise<Row> {
    validated(z.uuid('must be a rule id (uuid)'), id, 'id');
    const [row] = await this.db
      .select()
      .from(routingRules)
      .where(and(eq(routingRules.id, id), or(isNull(routingRules.ownerId), eq(routingRules.ownerId, actor.userId))))
      .limit(1);
    if (!row) throw notFound('routing rule');
    return row;
  }

  private async writableRow(actor: Actor, id: string): Promise<Row> {
    const row = await this.visibleRow(actor, id);
    if (row.ownerId === null && actor.role !== 'admin') throw forbidden('system rules are changed by admins; you can disable one for yourself with POST /api/routing/rules/{id}/disable');
    return row;
  }

  /** After the scope's last rule, but before a catch-all (a rule without conditions), which would otherwise hide it. */
  private async nextPriority(ownerId: string | null): Promise<number> {
    const rows = await this.db
      .select({ priority: routingRules.priority, conditions: routingRules.conditions })
      .from(routingRules)
      .where(ownerId ? eq(routingRules.ownerId, ownerId) : isNull(routingRules.ownerId));
    const catchAll = rows.filter((r) => Array.isArray(r.conditions) && r.conditions.length === 0).map((r) => r.priority);
    const specific = rows.filter((r) => !(Array.isArray(r.conditions) && r.conditions.length === 0)).map((r) => r.priority);
    const after = (specific.length ? Math.max(...specific) : 0) + PRIORITY_STEP;
    if (catchAll.length === 0) return after;
    return Math.max(0, Math.min(after, Math.min(...catchAll) - 1));
  }
}
