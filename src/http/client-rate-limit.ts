/** A narrower rate limit for one kind of request, counted in Valkey beside the API's. */
import { ipKeyGenerator, type Options, type Store } from 'express-rate-limit';
import type { Request } from 'express';
import { MosaicError } from '../errors.ts';

/**
 * A limit of its own for one kind of request (password sign-ins), per
 * client address per minute, counted where the API's limit is counted.
 * Checked inside the route, so only well-formed requests count; while
 * Valkey does not answer, requests pass (as with the API's limit).
 */
export class ClientRateLimit {
  private readonly store: Store;

  constructor(
    store: Store,
    readonly perMinute: number,
    private readonly what: string,
  ) {
    this.store = store;
    void this.store.init?.({ windowMs: 60_000 } as Options);
  }

  async hit(req: Request): Promise<void> {
    const hits = await Promise.resolve(this.store.increment(ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? ''))).then(
      (r) => r.totalHits,
      () => 0,
    );
    if (hits > this.perMinute) throw new MosaicError('rate_limited', `too many ${this.what} from this address (${this.perMinute} a minute); wait a minute and try again`, { httpStatus: 429, retryable: true });
  }
}
