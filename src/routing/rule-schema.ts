/**
 * The shape of a routing rule, validated with zod. The API, the rule store
 * and the seeded defaults all pass through these schemas, so a rule that
 * reaches the router is always well-formed.
 */
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import { PROVIDER_NAMES } from '../providers/types.ts';
import { COMPLEXITIES, COST_TIERS, TASK_TYPES, type ModelRef } from './types.ts';

/** One value or a list; a single value is read as a list of one, so errors name the bad element. */
const oneOrMany = <T extends z.ZodType>(item: T, what: string) =>
  z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).min(1, `give at least one ${what}`).max(50, `at most 50 of them`));

const listOf = (values: readonly string[]) => values.join(', ');
const enumOf = <T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: (issue) => `${JSON.stringify(issue.input)} is not a ${what}; use one of ${listOf(values)}` });

const name = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');

export const CONDITION_TYPES = ['taskType', 'complexity', 'domain', 'costTier', 'requires', 'minContextWindow', 'channel', 'agent', 'cloudAvailable'] as const;

export const conditionSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('taskType'), value: oneOrMany(enumOf(TASK_TYPES, 'task type'), 'task type') }).strict(),
    z.object({ type: z.literal('complexity'), value: oneOrMany(enumOf(COMPLEXITIES, 'complexity'), 'complexity') }).strict(),
    z.object({ type: z.literal('domain'), value: oneOrMany(name, 'domain') }).strict(),
    z.object({ type: z.literal('costTier'), value: oneOrMany(enumOf(COST_TIERS, 'cost tier'), 'cost tier') }).strict(),
    /** Matches when the message needs any of these capabilities. */
    z.object({ type: z.literal('requires'), value: oneOrMany(enumOf(['tools', 'vision'] as const, 'capability'), 'capability') }).strict(),
    /** Matches when the message needs a context window of at least this many tokens. */
    z.object({ type: z.literal('minContextWindow'), value: z.number().int().positive('must be a positive number of tokens') }).strict(),
    z.object({ type: z.literal('channel'), value: oneOrMany(name, 'channel') }).strict(),
    /** The active agent, by id or name. */
    z.object({ type: z.literal('agent'), value: oneOrMany(name, 'agent id or name') }).strict(),
    /** Whether any cloud provider is usable for this user (healthy, with a key): `false` means offline or no keys. */
    z.object({ type: z.literal('cloudAvailable'), value: z.boolean() }).strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `condition type must be one of ${listOf(CONDITION_TYPES)}` : undefined) },
);
export type Condition = z.infer<typeof conditionSchema>;

export const modelRefSchema = z
  .object({
    provider: enumOf(PROVIDER_NAMES, 'provider'),
    model: z.string().trim().min(1, 'name a model').max(200),
  })
  .strict();

export const routeToSchema = modelRefSchema
  .extend({
    agentConfigId: z.uuid('must be an agent config id (uuid)').optional(),
    systemPromptOverride: z.string().min(1).max(20_000).optional(),
    toolAllowlist: z.array(z.string().min(1).max(100)).max(100).optional(),
  })
  .strict();

export const actionSchema = z.object({ routeTo: routeToSchema }).strict();
export type RuleAction = z.infer<typeof actionSchema>;

const fallbacksSchema = z.array(modelRefSchema).max(10, 'at most 10 fallbacks');
const conditionsSchema = z.array(conditionSchema).max(20, 'at most 20 conditions');
const priority = z.number().int('must be a whole number').min(0).max(1_000_000);

export const createRuleSchema = z
  .object({
    name,
    description: z.string().max(1000).default(''),
    priority: priority.optional(),
    enabled: z.boolean().default(true),
    /** `system` rules apply to everyone and need an admin. */
    scope: z.enum(['user', 'system'], { error: 'scope must be "user" or "system"' }).default('user'),
    conditions: conditionsSchema.default([]),
    action: actionSchema,
    fallbacks: fallbacksSchema.default([]),
  })
  .strict();
export type CreateRuleInput = z.input<typeof createRuleSchema>;

export const updateRuleSchema = z
  .object({
    name: name.optional(),
    description: z.string().max(1000).optional(),
    priority: priority.optional(),
    enabled: z.boolean().optional(),
    conditions: conditionsSchema.optional(),
    action: actionSchema.optional(),
    fallbacks: fallbacksSchema.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one field to change');
export type UpdateRuleInput = z.input<typeof updateRuleSchema>;

export const reorderSchema = z
  .object({
    scope: z.enum(['user', 'system'], { error: 'scope must be "user" or "system"' }).default('user'),
    ids: z.array(z.uuid('each id must be a rule id (uuid)')).min(1, 'list the rules in their new order').max(1000),
  })
  .strict()
  .refine((v) => new Set(v.ids).size === v.ids.length, { message: 'a rule id appears twice', path: ['ids'] });
export type ReorderInput = z.input<typeof reorderSchema>;

/** A rule as the router and the API see it. */
export interface RoutingRule {
  id: string;
  name: string;
  description: string;
  priority: number;
  enabled: boolean;
  /** null: a system rule. */
  ownerId: string | null;
  conditions: Condition[];
  action: RuleAction;
  fallbacks: ModelRef[];
  updatedAt?: Date;
}

/** Parses with a schema; a failure is a 400 naming each bad field (the same shape the HTTP layer uses). */
export function validated<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw badRequest(problems.join('; '), { problems });
}
