/** Accounts (admin-level storage: no user-owned content lives here). */
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { users } from '../db/schema.ts';
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
}

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export function toPublicUser(row: UserRow): PublicUser {
  return { id: row.id, username: row.username, displayName: row.displayName, role: row.role, localOnly: row.localOnly, monthlyBudgetUsd: row.monthlyBudgetUsd, createdAt: row.createdAt };
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
}
