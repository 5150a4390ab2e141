/**
 * The operator's operations (`mosaic user …`, `route`, `jobs …`, `secrets
 * rotate`, `status`), defined once. The CLI runs them in its own process when
 * no server owns the database, and asks the running server to run them over
 * its admin socket when one does; either way the same code runs, and the
 * results are plain JSON so both paths answer alike.
 */
import { z } from 'zod';
import type { MosaicConfig } from '../config/schema.ts';
import type { Database } from '../db/client.ts';
import type { AccountService } from '../identity/account-service.ts';
import type { CredentialStore } from '../identity/credential-store.ts';
import type { JobAdmin } from '../jobs/job-admin.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { Linking } from '../identity/linking.ts';
import { SecretKeyError } from '../identity/secret-box.ts';
import { badRequest } from '../errors.ts';
import { installationId } from '../db/installation.ts';
import type { TeamService } from '../teams/team-service.ts';
import { OPERATOR, TEAM_ROLES } from '../teams/team-store.ts';
import { RetentionPolicies } from '../retention/retention-policies.ts';
import { RetentionStore } from '../retention/retention-store.ts';
import { ROOM_KINDS } from '../retention/room-kind.ts';
import { daysSetting } from '../retention/days-setting.ts';

const retentionPolicies = (config: MosaicConfig, database: Database) => new RetentionPolicies(new RetentionStore(database.db), config.retention.defaults);

/** What an operation may use; the server hands in its live services, the CLI opens what is asked for. */
export interface AdminContext {
  config: MosaicConfig;
  database(): Promise<Database>;
  accounts(): Promise<AccountService>;
  credentials(): Promise<CredentialStore>;
  jobs(): Promise<JobAdmin>;
  routing(): Promise<RoutingService>;
  /** Linking chat accounts (the server's, with its running channels; or built here with the CLI's). */
  linking(): Promise<Linking>;
  /** Teams, acting as the operator (an admin). */
  teams(): Promise<TeamService>;
  /** Who answers: the server (`server`) or the CLI's own process (`local`). */
  via: 'server' | 'local';
}

interface Operation<S extends z.ZodType, R> {
  args: S;
  /** Needs the database (PGlite: the data directory's lock) when run by the CLI itself. */
  database: boolean;
  run(ctx: AdminContext, args: z.output<S>): Promise<R>;
}

const op = <S extends z.ZodType, R>(definition: Operation<S, R>): Operation<S, R> => definition;

const username = z.string().min(1).max(64);
const jobRef = z.string().min(1).max(500);
/** A chat account id (a Matrix user id); its grammar is the channel's to check. */
const chatId = z.string().min(1).max(255);
const queueName = z.string().min(1).max(100);
const teamRef = z.string().min(1).max(64);
const usd = z.number().min(0).max(1_000_000_000).nullable();

export const ADMIN_OPERATIONS = {
  status: op({
    args: z.object({}).strict(),
    database: true,
    async run(ctx) {
      const database = await ctx.database();
      const users = await (await ctx.accounts()).listUsers();
      return {
        via: ctx.via,
        pid: process.pid,
        database: { kind: database.kind, location: database.location, installationId: await installationId(database.db) },
        users: users.length,
        admins: users.filter((u) => u.role === 'admin' && !u.disabledAt).length,
      };
    },
  }),
  'user.create': op({
    args: z
      .object({
        username,
        admin: z.boolean().default(false),
        password: z.string().max(1024).nullable().default(null),
        displayName: z.string().max(100).optional(),
        /** Linked at once, in the same transaction; the bot welcomes the person. */
        matrixUserId: chatId.optional(),
      })
      .strict(),
    database: true,
    async run(ctx, { matrixUserId, ...args }) {
      if (matrixUserId === undefined) return (await ctx.accounts()).createUser(args);
      return (await ctx.linking()).links.createAccountWithLink(args, { channel: 'matrix', channelUserId: matrixUserId }, 'operator');
    },
  }),
  'user.link': op({
    args: z.object({ username, matrixUserId: chatId }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.linking()).links.linkAccount({ channel: 'matrix', channelUserId: args.matrixUserId, username: args.username }, 'operator');
    },
  }),
  'user.unlink': op({
    args: z.object({ username, matrixUserId: chatId }).strict(),
    database: true,
    async run(ctx, args) {
      await (await ctx.linking()).links.unlinkByOperator(args.username, 'matrix', args.matrixUserId);
      return { unlinked: args.matrixUserId, username: args.username };
    },
  }),
  'link.token': op({
    args: z.object({ username, channel: z.string().min(1).max(32).default('matrix') }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.linking()).links.issueTokenByOperator(args.channel, args.username);
    },
  }),
  'user.list': op({
    args: z.object({}).strict(),
    database: true,
    async run(ctx) {
      return { users: await (await ctx.accounts()).listUsers() };
    },
  }),
  'user.token': op({
    args: z.object({ username, label: z.string().min(1).max(64).default('cli') }).strict(),
    database: true,
    async run(ctx, args) {
      return { token: await (await ctx.accounts()).issueToken(args.username, args.label) };
    },
  }),
  'user.disable': op({
    args: z.object({ username }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.accounts()).setDisabled(args.username, true);
    },
  }),
  'user.enable': op({
    args: z.object({ username }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.accounts()).setDisabled(args.username, false);
    },
  }),
  'user.delete': op({
    /** Without `confirm`, only what would be deleted. */
    args: z.object({ username, confirm: z.boolean().default(false) }).strict(),
    database: true,
    async run(ctx, args) {
      const accounts = await ctx.accounts();
      return args.confirm ? { deleted: true, ...(await accounts.deleteUser(args.username)) } : { deleted: false, ...(await accounts.deletionImpact(args.username)) };
    },
  }),
  'team.create': op({
    args: z.object({ slug: z.string().min(1).max(64), name: z.string().max(100).optional(), owner: username, monthlyBudgetUsd: usd.optional() }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.teams()).create(OPERATOR, args);
    },
  }),
  'team.list': op({
    args: z.object({}).strict(),
    database: true,
    async run(ctx) {
      const teams = await ctx.teams();
      const items = await teams.list(OPERATOR, { all: true });
      return { teams: await Promise.all(items.map(async (t) => ({ ...t, members: (await teams.store.membersOf(t.id)).length }))) };
    },
  }),
  'team.show': op({
    args: z.object({ team: teamRef }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.teams()).get(OPERATOR, args.team);
    },
  }),
  'team.update': op({
    args: z.object({ team: teamRef, name: z.string().max(100).optional(), monthlyBudgetUsd: usd.optional() }).strict(),
    database: true,
    async run(ctx, { team, ...patch }) {
      return (await ctx.teams()).update(OPERATOR, team, patch);
    },
  }),
  'team.delete': op({
    args: z.object({ team: teamRef }).strict(),
    database: true,
    async run(ctx, args) {
      return { deleted: await (await ctx.teams()).remove(OPERATOR, args.team) };
    },
  }),
  'team.add': op({
    args: z.object({ team: teamRef, username, role: z.enum(TEAM_ROLES).default('member') }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.teams()).addMember(OPERATOR, args.team, { username: args.username }, args.role);
    },
  }),
  'team.remove': op({
    args: z.object({ team: teamRef, username }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.teams()).removeMember(OPERATOR, args.team, { username: args.username });
    },
  }),
  route: op({
    args: z.object({ text: z.string().min(1).max(100_000), user: username.optional(), channel: z.string().min(1).max(50).optional(), localOnly: z.boolean().default(false) }).strict(),
    database: true,
    async run(ctx, args) {
      const userId = args.user ? (await (await ctx.accounts()).users.requireByUsername(args.user)).id : null;
      return (await ctx.routing()).route({ userId, text: args.text, ...(args.channel ? { channel: args.channel } : {}), localOnly: args.localOnly });
    },
  }),
  'jobs.list': op({
    args: z.object({ status: z.string().max(50).optional(), queue: queueName.optional(), limit: z.number().int().min(1).max(200).default(50), offset: z.number().int().min(0).max(100_000).default(0) }).strict(),
    database: false,
    async run(ctx, args) {
      return (await ctx.jobs()).listJobs(args);
    },
  }),
  'jobs.queues': op({
    args: z.object({}).strict(),
    database: false,
    async run(ctx) {
      return { queues: await (await ctx.jobs()).queues() };
    },
  }),
  'jobs.show': op({
    args: z.object({ id: jobRef }).strict(),
    database: true,
    async run(ctx, args) {
      return (await ctx.jobs()).getJob(args.id);
    },
  }),
  'jobs.retry': op({
    args: z.object({ id: jobRef }).strict(),
    database: false,
    async run(ctx, args) {
      return (await ctx.jobs()).retryJob(args.id);
    },
  }),
  'jobs.remove': op({
    args: z.object({ id: jobRef }).strict(),
    database: false,
    async run(ctx, args) {
      await (await ctx.jobs()).removeJob(args.id);
      return { removed: args.id };
    },
  }),
  'jobs.pause': op({
    args: z.object({ queue: queueName }).strict(),
    database: false,
    async run(ctx, args) {
      return (await ctx.jobs()).pause(args.queue);
    },
  }),
  'jobs.resume': op({
    args: z.object({ queue: queueName }).strict(),
    database: false,
    async run(ctx, args) {
      return (await ctx.jobs()).resume(args.queue);
    },
  }),
  'jobs.run': op({
    args: z.object({ queue: queueName, job: z.string().min(1).max(100).optional() }).strict(),
    database: false,
    async run(ctx, args) {
      return (await ctx.jobs()).runNow(args.queue, args.job);
    },
  }),
  'retention.show': op({
    args: z.object({ conversationId: z.uuid().optional() }).strict(),
    database: true,
    async run(ctx, args) {
      const policies = retentionPolicies(ctx.config, await ctx.database());
      return args.conversationId ? policies.forConversation(args.conversationId) : policies.view();
    },
  }),
  'retention.set': op({
    args: z.union([
      z.object({ kind: z.enum(ROOM_KINDS), days: daysSetting }).strict(),
      z.object({ conversationId: z.uuid(), days: daysSetting }).strict(),
    ]),
    database: true,
    async run(ctx, args) {
      const policies = retentionPolicies(ctx.config, await ctx.database());
      if ('kind' in args) {
        await policies.setKind(args.kind, args.days);
        return policies.view();
      }
      return policies.setConversation(args.conversationId, args.days);
    },
  }),
  'secrets.rotate': op({
    args: z.object({}).strict(),
    database: true,
    async run(ctx) {
      if (!ctx.config.secrets.key) throw new SecretKeyError('MOSAIC_SECRET_KEY is not set: nothing to rotate to');
      return (await ctx.credentials()).rotateAll();
    },
  }),
};

export type AdminOperations = typeof ADMIN_OPERATIONS;
export type AdminOperationName = keyof AdminOperations;
export type AdminArgs<K extends AdminOperationName> = z.input<AdminOperations[K]['args']>;
/** What crosses the socket: dates become ISO strings. */
export type AdminResult<K extends AdminOperationName> = Jsonified<Awaited<ReturnType<AdminOperations[K]['run']>>>;

type Jsonified<T> = T extends Date ? string : T extends Array<infer U> ? Jsonified<U>[] : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;

export function isAdminOperation(name: unknown): name is AdminOperationName {
  return typeof name === 'string' && Object.hasOwn(ADMIN_OPERATIONS, name);
}

export function operationNeedsDatabase(name: AdminOperationName): boolean {
  return ADMIN_OPERATIONS[name].database;
}

/** Validates the arguments and runs one operation; the answer is plain JSON either way it is reached. */
export async function runAdminOperation<K extends AdminOperationName>(ctx: AdminContext, name: K, args: unknown): Promise<AdminResult<K>> {
  if (!isAdminOperation(name)) throw badRequest(`unknown admin operation "${String(name)}"`);
  const operation = ADMIN_OPERATIONS[name] as unknown as Operation<z.ZodType, unknown>;
  const parsed = operation.args.safeParse(args ?? {});
  if (!parsed.success) throw badRequest(`${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ')}`);
  const result = await operation.run(ctx, parsed.data);
  return (result === undefined ? null : JSON.parse(JSON.stringify(result))) as AdminResult<K>;
}
