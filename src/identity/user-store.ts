/** Accounts (admin-level storage: no user-owned content lives here). */
import { and, asc, count, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.ts';
import { agentConfigs, apiTokens, channelIdentities, conversations, memories, messages, providerCredentials, routingRules, usageRecords, users } from '../db/schema.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { Actor } from './actor.ts';

export type UserRow = typeof users.$inferSelect;
export interface PublicUser {
  id: string;
  username: string;
  displayName: string | null;
  role: 'admin' | 'member';
  localOnly: boolean;
  /** USD per calendar month (UTC); null: the configured default applies, if any. */
  monthlyBudgetUsd: number | null;
  createdAt: Date;
  /** Set while the account is disabled: its tokens and logins are refused. */
  disabledAt: Date | null;
}

/** What deleting an account removes with it (every row below references the user and cascades). */
export interface UserDataInventory {
  conversations: number;
  messages: number;
  agents: number;
  tokens: number;
  providerKeys: number;
  memories: number;
  routingRules: number;
  usageRecords: number;
  linkedIdentities: number;
}

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export function toPublicUser(row: UserRow): PublicUser {
  return { id: row.id, username: row.username, displayName: row.displayName, role: row.role, localOnly: row.localOnly, monthlyBudgetUsd: row.monthlyBudgetUsd, createdAt: row.createdAt, disabledAt: row.disabledAt };
}

export function actorOf(row: UserRow): Actor {
  return { userId: row.id, role: row.role, username: row.username };
}

export class UserStore {
  constructor(private readonly db: Db) {}

  async create(input: { username: string; role: 'admin' | 'member'; passwordHash?: string | null; displayName?: string | null }): Promise<UserRow> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw badRequest(`username "${input.username}" is not allowed: use 2–32 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit`);
    }
    const existing = await this.findByUsername(input.username);
    if (existing) throw conflict(`user "${input.username}" already exists`);
    const [row] = await this.db
      .insert(users)
      .values({ username: input.username, role: input.role, passwordHash: input.passwordHash ?? null, displayName: input.displayName ?? null })
      .returning();
    return row!;
  }

  async findByUsername(username: string): Promise<UserRow | null> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username)).limit(1);
    return row ?? null;
  }

  async findById(id: string): Promise<UserRow | null> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).limit(1);
    return row ?? null;
  }

  async requireByUsername(username: string): Promise<UserRow> {
    const row = await this.findByUsername(username);
    if (!row) throw notFound(`user "${username}"`);
    return row;
  }

  async list(): Promise<UserRow[]> {
    return this.db.select().from(users).orderBy(asc(users.createdAt));
  }

  async setLocalOnly(userId: string, localOnly: boolean): Promise<void> {
    await this.db.update(users).set({ localOnly }).where(eq(users.id, userId));
  }

  /** null clears the user's own budget, so the configured default (if any) applies again. */
  async setMonthlyBudget(userId: string, monthlyBudgetUsd: number | null): Promise<void> {
    await this.db.update(users).set({ monthlyBudgetUsd }).where(eq(users.id, userId));
  }

  async setDisabled(userId: string, disabled: boolean): Promise<void> {
    await this.db.update(users).set({ disabledAt: disabled ? new Date() : null }).where(eq(users.id, userId));
  }

  /** Of these user ids, those of accounts that exist and are enabled. One query. */
  async activeIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.select({ id: users.id }).from(users).where(and(inArray(users.id, ids), isNull(users.disabledAt)));
    return new Set(rows.map((r) => r.id));
  }

  /** Admins whose accounts are enabled. */
  async enabledAdminCount(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(users).where(and(eq(users.role, 'admin'), isNull(users.disabledAt)));
    return row?.n ?? 0;
  }

  /** Counts what the account owns, so an admin knows what a deletion takes with it. */
  async dataInventory(userId: string): Promise<UserDataInventory> {
    const n = async (table: PgTable, column: PgColumn, where?: SQL): Promise<number> => {
      const [row] = await this.db.select({ n: count() }).from(table).where(where ? and(eq(column, userId), where) : eq(column, userId));
      return row?.n ?? 0;
    };
    const [messageRow] = await this.db.select({ n: count() }).from(messages).innerJoin(conversations, eq(conversations.id, messages.conversationId)).where(eq(conversations.ownerId, userId));
    return {
      conversations: await n(conversations, conversations.ownerId),
      messages: messageRow?.n ?? 0,
      agents: await n(agentConfigs, agentConfigs.ownerId),
      tokens: await n(apiTokens, apiTokens.userId),
      providerKeys: await n(providerCredentials, providerCredentials.userId),
      memories: await n(memories, memories.userId),
      routingRules: await n(routingRules, routingRules.ownerId),
      usageRecords: await n(usageRecords, usageRecords.userId),
      linkedIdentities: await n(channelIdentities, channelIdentities.userId),
    };
  }

  /** Deletes the account; the database cascades to everything it owns. */
  async remove(userId: string): Promise<void> {
    await this.db.delete(users).where(eq(users.id, userId));
  }
}
