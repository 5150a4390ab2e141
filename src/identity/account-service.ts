/** Creating accounts and issuing their tokens: what `mosaic user` and the admin API call. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { badRequest, conflict } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { TokenStore } from './token-store.ts';
import { actorOf, toPublicUser, UserStore, type PublicUser, type UserDataInventory, type UserRow } from './user-store.ts';
import type { Actor } from './actor.ts';

let dummyHash: Promise<string> | null = null;
/** A hash of nothing anyone knows, to verify against when there is no account. */
const timingDummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString('hex')));

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

  /**
   * Password login: returns the actor or null. An unknown username costs a
   * hash like a known one, so the answer's timing does not say which exist.
   */
  async verifyLogin(username: string, password: string): Promise<Actor | null> {
    const row = await this.users.findByUsername(username);
    const matches = await verifyPassword(password, row?.passwordHash ?? (await timingDummy()));
    return row?.passwordHash && !row.disabledAt && matches ? actorOf(row) : null;
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.users.list()).map(toPublicUser);
  }

  /** Disabling refuses the account's tokens and logins at once; enabling restores them. */
  async setDisabled(username: string, disabled: boolean): Promise<PublicUser> {
    const row = await this.users.requireByUsername(username);
    if (disabled && !row.disabledAt) await this.refuseLastAdmin(row, 'disable');
    await this.users.setDisabled(row.id, disabled);
    const updated = await this.users.requireByUsername(username);
    return toPublicUser(updated);
  }

  /** What deleting the account would remove. */
  async deletionImpact(username: string): Promise<{ user: PublicUser; removes: UserDataInventory }> {
    const row = await this.users.requireByUsername(username);
    return { user: toPublicUser(row), removes: await this.users.dataInventory(row.id) };
  }

  /** Deletes the account and everything it owns; returns what was removed. */
  async deleteUser(username: string): Promise<{ user: PublicUser; removes: UserDataInventory }> {
    const row = await this.users.requireByUsername(username);
    await this.refuseLastAdmin(row, 'delete');
    const removes = await this.users.dataInventory(row.id);
    await this.users.remove(row.id);
    return { user: toPublicUser(row), removes };
  }

  /** Nobody could administer Mosaic any more: refuse. */
  private async refuseLastAdmin(row: UserRow, what: 'disable' | 'delete'): Promise<void> {
    if (row.role !== 'admin' || row.disabledAt) return;
    if ((await this.users.enabledAdminCount()) <= 1) {
      throw conflict(`cannot ${what} ${row.username}: it is the only enabled admin; create another first (\`mosaic user create <name> --admin\`)`);
    }
  }
}
