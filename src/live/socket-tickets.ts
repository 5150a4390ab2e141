/**
 * Single-use tickets for browsers to open a socket or event stream: 256
 * random bits, stored in Valkey only as a hash, for tens of seconds, and
 * deleted by the redeem that uses them (GETDEL), so a ticket seen in a log
 * is worthless.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';
import { hashToken } from '../identity/tokens.ts';
import type { LiveCredential } from './live-auth.ts';

export const TICKET_PREFIX = 'mtk_';

interface Held {
  userId: string;
  credential: LiveCredential;
}

export class SocketTickets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlSeconds: number,
  ) {}

  private key(ticket: string): string {
    return ephemeralKey(this.prefix, 'live', 'ticket', hashToken(ticket));
  }

  async issue(held: Held): Promise<string> {
    const ticket = `${TICKET_PREFIX}${randomBytes(32).toString('base64url')}`;
    await this.redis.set(this.key(ticket), JSON.stringify(held), 'EX', this.ttlSeconds);
    return ticket;
  }

  /** The ticket's holder, once; null when unknown, used or expired. */
  async redeem(ticket: string): Promise<Held | null> {
    if (!ticket.startsWith(TICKET_PREFIX) || ticket.length > 100) return null;
    const raw = await this.redis.getdel(this.key(ticket));
    return raw ? (JSON.parse(raw) as Held) : null;
  }
}
