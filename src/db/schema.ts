/**
 * The whole system's data model (drizzle, PostgreSQL dialect). The same
 * schema and migrations serve PostgreSQL and the embedded PGlite database.
 * Rows that belong to a user carry `user_id`/`owner_id`; only the storage
 * modules read them, always with the acting user in the WHERE clause.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { ROOM_KINDS } from '../retention/room-kinds.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const created = () => ts('created_at').notNull().defaultNow();

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  username: text('username').notNull().unique(),
  displayName: text('display_name'),
  role: text('role', { enum: ['admin', 'member'] }).notNull().default('member'),
  passwordHash: text('password_hash'),
  localOnly: boolean('local_only').notNull().default(false),
  /** USD per calendar month (UTC); null: the configured default (`routing.budgets.defaultMonthlyUsd`), if any. */
  monthlyBudgetUsd: numeric('monthly_budget_usd', { precision: 12, scale: 2, mode: 'number' }),
  createdAt: created(),
  disabledAt: ts('disabled_at'),
});

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    createdAt: created(),
    lastUsedAt: ts('last_used_at'),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

export const teams = pgTable('teams', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** USD per calendar month (UTC) that conversations shared with the team may draw on; null: no team budget. */
  monthlyBudgetUsd: numeric('monthly_budget_usd', { precision: 12, scale: 2, mode: 'number' }),
  createdAt: created(),
});

export const teamMembers = pgTable(
  'team_members',
  {
    teamId: uuid('team_id').notNull().references(() => teams.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['owner', 'member'] }).notNull().default('member'),
    joinedAt: ts('joined_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index('team_members_user_idx').on(t.userId)],
);

export const agentConfigs = pgTable(
  'agent_configs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** null: a system agent visible to everyone. */
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    displayName: text('display_name').notNull(),
    description: text('description').notNull().default(''),
    systemPrompt: text('system_prompt').notNull(),
    provider: text('provider'),
    model: text('model'),
    tools: jsonb('tools').$type<string[]>().notNull().default([]),
    skills: jsonb('skills').$type<string[]>().notNull().default([]),
    capabilities: jsonb('capabilities').$type<{ domains?: string[]; preferredModels?: string[]; taskTypes?: string[] }>().notNull().default({}),
    avatarUrl: text('avatar_url'),
    /** Ids of the agents this one may hand work to (delegate, ask_agent); empty: none. */
    delegatesTo: jsonb('delegates_to').$type<string[]>().notNull().default([]),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('agent_configs_owner_name_uq').on(sql`coalesce(${t.ownerId}, '00000000-0000-0000-0000-000000000000'::uuid)`, t.name)],
);

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'set null' }),
    title: text('title').notNull().default('New conversation'),
    agentId: uuid('agent_id').references(() => agentConfigs.id, { onDelete: 'set null' }),
    pinnedProvider: text('pinned_provider'),
    pinnedModel: text('pinned_model'),
    localOnly: boolean('local_only').notNull().default(false),
    summary: text('summary'),
    /** Messages with seq <= this are represented by `summary`. */
    summarizedThroughSeq: bigint('summarized_through_seq', { mode: 'number' }),
    lastRouting: jsonb('last_routing'),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    archivedAt: ts('archived_at'),
    /** Deleted by its owner: hidden at once, removed for good once every channel's side of it is erased. */
    deletedAt: ts('deleted_at'),
    /** Why the last attempt to erase a deleted conversation's channel side failed (retried by the retention purge). */
    eraseError: text('erase_error'),
  },
  (t) => [index('conversations_owner_idx').on(t.ownerId, t.updatedAt), index('conversations_team_idx').on(t.teamId), index('conversations_deleted_idx').on(t.deletedAt).where(sql`${t.deletedAt} is not null`)],
);

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    conversationId: uuid('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    /** The conversation's owner, kept on the message so channel-native ids are unique per user, not across users. */
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['user', 'assistant', 'system', 'tool'] }).notNull(),
    senderId: text('sender_id').notNull(),
    senderType: text('sender_type', { enum: ['user', 'agent', 'system'] }).notNull(),
    content: text('content').notNull().default(''),
    contentType: text('content_type', { enum: ['text', 'markdown', 'code', 'image', 'file'] }).notNull().default('text'),
    channel: text('channel').notNull(),
    /** Channel-native id (Matrix event id): the durable identity of an inbound message. */
    externalId: text('external_id'),
    editOf: uuid('edit_of'),
    replyToId: uuid('reply_to_id'),
    threadId: text('thread_id'),
    attachments: jsonb('attachments').$type<Array<{ name: string; mimeType: string; url: string; sizeBytes?: number }>>().notNull().default([]),
    toolCalls: jsonb('tool_calls').$type<Array<{ id: string; name: string; arguments: unknown }>>(),
    toolCallId: text('tool_call_id'),
    thinking: text('thinking'),
    provider: text('provider'),
    model: text('model'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    cacheReadTokens: integer('cache_read_tokens'),
    cacheWriteTokens: integer('cache_write_tokens'),
    costUsd: doublePrecision('cost_usd'),
    routing: jsonb('routing'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    redactedAt: ts('redacted_at'),
    /** Retention: set while the message is past its policy but its channel side could not be removed yet (it stays until it can). */
    retentionFailedAt: ts('retention_failed_at'),
    retentionError: text('retention_error'),
    createdAt: created(),
    searchVector: tsvector('search_vector').generatedAlwaysAs(sql`to_tsvector('simple', coalesce(content, ''))`),
  },
  (t) => [
    uniqueIndex('messages_seq_uq').on(t.seq),
    index('messages_conversation_idx').on(t.conversationId, t.seq),
    uniqueIndex('messages_owner_channel_external_uq').on(t.ownerId, t.channel, t.externalId),
    index('messages_search_idx').using('gin', t.searchVector),
    // Reply recovery's lookups (migration 0010).
    index('messages_user_created_idx').on(t.createdAt).where(sql`${t.role} = 'user'`),
    index('messages_reply_to_idx').on(t.replyToId),
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt),
  ],
);

export const routingRules = pgTable(
  'routing_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** null: a system rule. */
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    priority: integer('priority').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    conditions: jsonb('conditions').$type<unknown[]>().notNull().default([]),
    action: jsonb('action').$type<Record<string, unknown>>().notNull(),
    fallbacks: jsonb('fallbacks').$type<Array<{ provider: string; model: string }>>().notNull().default([]),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('routing_rules_owner_idx').on(t.ownerId, t.priority)],
);

export const userDisabledRules = pgTable(
  'user_disabled_rules',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    ruleId: uuid('rule_id').notNull().references(() => routingRules.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.ruleId] })],
);

export const providerCredentials = pgTable(
  'provider_credentials',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    kind: text('kind', { enum: ['api_key', 'oauth'] }).notNull().default('api_key'),
    label: text('label').notNull().default(''),
    /** AES-256-GCM envelope of the secret payload, bound to owner and row. */
    ciphertext: text('ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    hint: text('hint').notNull(),
    baseUrl: text('base_url'),
    expiresAt: ts('expires_at'),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('provider_credentials_user_idx').on(t.userId, t.provider)],
);

export const memories = pgTable(
  'memories',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => agentConfigs.id, { onDelete: 'set null' }),
    kind: text('kind', { enum: ['memory', 'insight'] }).notNull().default('memory'),
    content: text('content').notNull(),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    /** Plain float array: works without extensions; pgvector is used when present. */
    embedding: real('embedding').array(),
    embeddingModel: text('embedding_model'),
    createdAt: created(),
  },
  (t) => [index('memories_user_idx').on(t.userId, t.createdAt)],
);

export const preferences = pgTable(
  'preferences',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
);

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => agentConfigs.id, { onDelete: 'set null' }),
    provider: text('provider'),
    model: text('model'),
    status: text('status', { enum: ['active', 'ended'] }).notNull().default('active'),
    startedAt: ts('started_at').notNull().defaultNow(),
    lastActivityAt: ts('last_activity_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
  },
  (t) => [index('sessions_conversation_idx').on(t.conversationId, t.status), index('sessions_user_idx').on(t.userId)],
);

export const sessionMetrics = pgTable('session_metrics', {
  sessionId: uuid('session_id').primaryKey().references(() => sessions.id, { onDelete: 'cascade' }),
  inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
  outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
  cacheReadTokens: bigint('cache_read_tokens', { mode: 'number' }).notNull().default(0),
  cacheWriteTokens: bigint('cache_write_tokens', { mode: 'number' }).notNull().default(0),
  totalTokens: bigint('total_tokens', { mode: 'number' }).notNull().default(0),
  costUsd: numeric('cost_usd', { precision: 14, scale: 6, mode: 'number' }).notNull().default(0),
  modelSwitches: integer('model_switches').notNull().default(0),
  messageCount: integer('message_count').notNull().default(0),
  durationMs: bigint('duration_ms', { mode: 'number' }).notNull().default(0),
  lastActivityAt: ts('last_activity_at').notNull().defaultNow(),
});

/** One row per model call: the ledger behind per-user and per-agent totals. */
export const usageRecords = pgTable(
  'usage_records',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id').references(() => conversations.id, { onDelete: 'set null' }),
    sessionId: uuid('session_id').references(() => sessions.id, { onDelete: 'set null' }),
    agentId: uuid('agent_id'),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    purpose: text('purpose').notNull().default('reply'),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
    cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    /** The team whose budget the call drew on (the conversation was shared with it); it still counts to `userId` too. */
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'set null' }),
    createdAt: created(),
  },
  (t) => [index('usage_records_user_idx').on(t.userId, t.createdAt), index('usage_records_agent_idx').on(t.agentId, t.createdAt), index('usage_records_team_idx').on(t.teamId, t.createdAt)],
);

/** One agent handing a task or a question to another within a person's conversation (migration 0008). */
export const agentDelegations = pgTable(
  'agent_delegations',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    /** Every delegation made while answering one message shares the exchange (the reply's id). */
    exchangeId: uuid('exchange_id').notNull(),
    fromAgentId: uuid('from_agent_id'),
    toAgentId: uuid('to_agent_id'),
    kind: text('kind', { enum: ['delegate', 'ask', 'broadcast'] }).notNull(),
    depth: integer('depth').notNull(),
    task: text('task').notNull(),
    /** Material handed with the task (a queued task is run again from the record). */
    context: text('context'),
    /** The answer's session its calls are billed to, the person's message, its thread. */
    sessionId: uuid('session_id'),
    messageId: uuid('message_id'),
    threadId: text('thread_id'),
    localOnly: boolean('local_only').notNull().default(false),
    status: text('status', { enum: ['running', 'completed', 'refused', 'queued', 'failed', 'expired', 'stopped'] }).notNull(),
    result: text('result'),
    notice: text('notice'),
    provider: text('provider'),
    model: text('model'),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    routing: jsonb('routing').$type<Record<string, unknown>>(),
    createdAt: created(),
    completedAt: ts('completed_at'),
  },
  (t) => [index('agent_delegations_conversation_idx').on(t.conversationId, t.createdAt), index('agent_delegations_exchange_idx').on(t.exchangeId)],
);

export const agentLogs = pgTable(
  'agent_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    level: text('level', { enum: ['debug', 'info', 'warn', 'error'] }).notNull().default('info'),
    tier: text('tier', { enum: ['hot', 'warm', 'cold'] }).notNull().default('hot'),
    source: text('source').notNull(),
    event: text('event').notNull(),
    message: text('message').notNull().default(''),
    queue: text('queue'),
    jobId: text('job_id'),
    attempt: integer('attempt'),
    error: text('error'),
    userId: uuid('user_id'),
    agentId: uuid('agent_id'),
    conversationId: uuid('conversation_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: created(),
  },
  (t) => [index('agent_logs_created_idx').on(t.tier, t.createdAt), index('agent_logs_job_idx').on(t.queue, t.jobId)],
);

export const channelIdentities = pgTable(
  'channel_identities',
  {
    channel: text('channel').notNull(),
    channelUserId: text('channel_user_id').notNull(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    linkedAt: ts('linked_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.channelUserId] }), index('channel_identities_user_idx').on(t.userId)],
);

export const conversationMatrixRooms = pgTable('conversation_matrix_rooms', {
  conversationId: uuid('conversation_id').primaryKey().references(() => conversations.id, { onDelete: 'cascade' }),
  roomId: text('room_id').notNull().unique(),
  replyMode: text('reply_mode', { enum: ['auto', 'all', 'mentions'] }).notNull().default('auto'),
  botJoinedAt: ts('bot_joined_at'),
  encrypted: boolean('encrypted').notNull().default(false),
  createdAt: created(),
  tombstonedAt: ts('tombstoned_at'),
  /** The conversation was deleted and the room's events redacted (the room is closed and left); set once. */
  erasedAt: ts('erased_at'),
});

/** A team's Space on Matrix. Not a reference to teams: it outlives a deleted team until the channel has closed it. */
export const teamSpaces = pgTable('team_spaces', {
  teamId: uuid('team_id').primaryKey(),
  spaceRoomId: text('space_room_id').notNull().unique(),
  createdAt: created(),
});

/** People a shared room invited because of its team (an unshare removes them, and only them). */
export const sharedRoomInvites = pgTable(
  'shared_room_invites',
  {
    roomId: text('room_id').notNull(),
    matrixUserId: text('matrix_user_id').notNull(),
    /** Not a reference to teams: a deleted team's share is undone after its row is gone. */
    teamId: uuid('team_id').notNull(),
    createdAt: created(),
  },
  (t) => [primaryKey({ name: 'shared_room_invites_pk', columns: [t.roomId, t.matrixUserId] })],
);

export const personalSpaces = pgTable('personal_spaces', {
  userId: uuid('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  spaceRoomId: text('space_room_id').notNull().unique(),
  createdAt: created(),
});

/**
 * Agent rooms (appservice/agent-rooms/): recorded when the appservice creates
 * or first finds one, so retention finds them all after a restart and on any
 * replica (they hold no conversation rows). `redactedBefore`: every event of
 * the room older than this is redacted already (the purge's next start).
 */
export const agentRooms = pgTable('agent_rooms', {
  roomId: text('room_id').primaryKey(),
  alias: text('alias').notNull().unique(),
  redactedBefore: ts('redacted_before'),
  createdAt: created(),
});

export const retentionPolicies = pgTable('retention_policies', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** A Matrix room id, or a pattern with `*`. */
  roomPattern: text('room_pattern').notNull(),
  retentionDays: integer('retention_days'),
  appliesTo: text('applies_to', { enum: ['personal', 'team', 'agent', 'system', 'all'] }).notNull().default('all'),
  createdAt: created(),
});

/** Retention's room kinds (plain data in retention/, so the CLI can name them without the ORM). */
export { ROOM_KINDS };

/** Admin overrides of the configured retention per room kind; a row with null days keeps that kind forever. */
export const retentionKindOverrides = pgTable(
  'retention_kind_overrides',
  {
    kind: text('kind', { enum: ROOM_KINDS }).primaryKey(),
    retentionDays: integer('retention_days'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [check('retention_kind_overrides_kind', sql`${t.kind} IN ('personal', 'team', 'agent', 'system')`), check('retention_kind_overrides_days', sql`${t.retentionDays} IS NULL OR ${t.retentionDays} > 0`)],
);

/** Per conversation: an admin override (null days with the flag: forever) and the owner's own, shorter retention. */
export const conversationRetention = pgTable(
  'conversation_retention',
  {
    conversationId: uuid('conversation_id').primaryKey().references(() => conversations.id, { onDelete: 'cascade' }),
    adminOverride: boolean('admin_override').notNull().default(false),
    adminDays: integer('admin_days'),
    ownerDays: integer('owner_days'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [check('conversation_retention_admin_days', sql`${t.adminDays} IS NULL OR ${t.adminDays} > 0`), check('conversation_retention_owner_days', sql`${t.ownerDays} IS NULL OR ${t.ownerDays} > 0`)],
);

/** Transactions pushed by the homeserver, remembered so a repeat is answered without work. */
export const appserviceTransactions = pgTable(
  'appservice_transactions',
  {
    txnId: text('txn_id').notNull(),
    /** Hash of the body: a txnId reused after a homeserver restart carries other events. */
    bodyHash: text('body_hash').notNull(),
    eventCount: integer('event_count').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.txnId, t.bodyHash] }), index('appservice_transactions_received_idx').on(t.receivedAt)],
);

/** Every event the homeserver pushed, stored before the transaction is acknowledged. */
export const appserviceEvents = pgTable(
  'appservice_events',
  {
    eventId: text('event_id').primaryKey(),
    roomId: text('room_id').notNull(),
    txnId: text('txn_id').notNull(),
    type: text('type').notNull(),
    sender: text('sender').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'done', 'skipped', 'failed'] }).notNull().default('pending'),
    error: text('error'),
    /** Times processing was claimed: a poison event is given up on after a few, so it never holds up the rest. */
    attempts: integer('attempts').notNull().default(0),
    receivedAt: ts('received_at').notNull().defaultNow(),
    processedAt: ts('processed_at'),
  },
  (t) => [index('appservice_events_status_idx').on(t.status, t.receivedAt)],
);

/**
 * This database's identity, one row created by its migration. Valkey keys
 * are claimed in its name, so two installations never share a key prefix.
 */
export const installation = pgTable(
  'installation',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    id: uuid('id').notNull().defaultRandom(),
    createdAt: created(),
  },
  (t) => [check('installation_singleton', sql`${t.singleton}`)],
);
