/** Creating accounts and issuing their tokens: what `mosaic user` and the admin API call. */
import type { Db } from '../db/client.ts';
import { badRequest } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { TokenStore } from './token-store.ts';
import { actorOf, toPublicUser, UserStore, type PublicUser } from './user-store.ts';
import type { Actor } from './actor.ts';

export class AccountService {
  readonly users: UserStore;
  readonly tokens: TokenStore;

  constructor(db: Db) {
    this.users = new UserStore(db);
    this.tokens = new TokenStore(db);
  }

  async createUser(input: { username: string; admin?: boolean; password?: string | null; displayName?: string | null }): Promise<{ user: PublicUser; token: string }> {
    if (input.password !== undefined && input.password !== null && input.password.length < 8) {
      throw badRequest('password must be at least 8 characters');
    }
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    const row = await this.users.create({ username: input.username, role: input.admin ? 'admin' : 'member', passwordHash, displayName: input.displayName ?? null });
    const { token } = await this.tokens.issue(actorOf(row), 'initial');
    return { user: toPublicUser(row), token };
  }

  async issueToken(username: string, name = 'cli'): Promise<string> {
    const row = await this.users.requireByUsername(username);
    return (await this.tokens.issue(actorOf(row), name)).token;
  }

  /** Password login: returns the actor or null. */
  async verifyLogin(username: string, password: string): Promise<Actor | null> {
    const row = await this.users.findByUsername(username);
    if (!row?.passwordHash || row.disabledAt) return null;
    return (await verifyPassword(password, row.passwordHash)) ? actorOf(row) : null;
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.users.list()).map(toPublicUser);
  }
}
