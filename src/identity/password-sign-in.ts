/**
 * Signing in with a username and password, wherever it happens (the API's
 * `POST /api/auth/login`, the link page, the web client): one check, one
 * lockout. Failures are counted per username in Valkey, shared by every
 * surface and replica, so guessing cannot be spread across them.
 */
import type { AccountService } from './account-service.ts';
import type { Actor } from './actor.ts';
import type { LinkAttemptLimiter } from './link-attempts.ts';

export type SignInOutcome =
  | { outcome: 'signed-in'; actor: Actor }
  /** Wrong username or password, a disabled account, or one without a password: the caller cannot tell which. */
  | { outcome: 'refused'; lockedForSeconds: number }
  | { outcome: 'locked'; lockedForSeconds: number };

export class PasswordSignIn {
  constructor(
    private readonly accounts: AccountService,
    private readonly attempts: LinkAttemptLimiter,
  ) {}

  /** Usernames are stored lower-case; what a person types may not be. */
  static normalise(username: string): string {
    return username.trim().toLowerCase();
  }

  async signIn(username: string, password: string): Promise<SignInOutcome> {
    const name = PasswordSignIn.normalise(username);
    const locked = await this.attempts.lockedFor('username', name);
    if (locked > 0) return { outcome: 'locked', lockedForSeconds: locked };
    const actor = name && password ? await this.accounts.verifyLogin(name, password) : null;
    if (!actor) {
      const failed = await this.attempts.fail('username', name);
      return { outcome: 'refused', lockedForSeconds: failed.lockedForSeconds };
    }
    await this.attempts.clear('username', name);
    return { outcome: 'signed-in', actor };
  }
}
