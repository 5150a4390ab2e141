/**
 * A small typed Client-Server API client for the calls Mosaic makes, on
 * fetch. It authenticates with the appservice's as_token and masquerades as
 * a ghost with `?user_id=`. Rate limits (429, honouring `retry_after_ms`),
 * 5xx and network failures are retried with backoff; what still fails
 * becomes a MatrixApiError (a ChannelSendError), so callers see one error
 * type.
 *
 * Every request body goes through the canonical-JSON encoder here, in the
 * one request path, so nothing Mosaic sends can carry a float or an
 * out-of-range integer whichever method sends it; and a body that becomes
 * an event (a message, an edit, state, a redaction, a new room's initial
 * state) is refused here with `M_TOO_LARGE` when it would not fit in an
 * event, before the homeserver sees it.
 */
import { ChannelSendError } from '../../src/protocol/channel-errors.ts';
import type { Logger } from '../../src/logging.ts';
import { CanonicalJsonError, canonicalJsonBytes, encodeCanonicalJson } from './canonical-json.ts';
import { MAX_CONTENT_BYTES, MAX_ID_BYTES } from './event-limits.ts';
import { parseMxc } from './mxc.ts';
import type { MatrixMetrics } from './matrix-metrics.ts';

export interface MatrixClientOptions {
  homeserverUrl: string;
  asToken: string;
  /** The appservice's own user (sender_localpart), used when no `asUser` is given. */
  botUserId: string;
  logger?: Logger;
  /** Attempts for retryable failures (default 5). */
  maxAttempts?: number;
  /** First backoff delay; doubles, capped at `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  metrics?: MatrixMetrics;
}

export class MatrixApiError extends ChannelSendError {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly endpoint: string,
  ) {
    super('matrix', `${endpoint}: ${status} ${errcode} ${message}`, { httpStatus: status >= 500 || status === 0 ? 502 : status, retryable: status === 0 || status === 429 || status >= 500, details: { errcode, status } });
    this.name = 'MatrixApiError';
  }
}

export const isMatrixError = (err: unknown, errcode?: string): err is MatrixApiError => err instanceof MatrixApiError && (errcode === undefined || err.errcode === errcode);

/** Content that would make an event larger than a homeserver accepts: refused before it is sent. */
export class EventTooLargeError extends MatrixApiError {
  constructor(
    endpoint: string,
    readonly bytes: number,
  ) {
    super(413, 'M_TOO_LARGE', `event content is ${bytes} bytes, more than the ${MAX_CONTENT_BYTES} an event leaves for it`, endpoint);
    this.name = 'EventTooLargeError';
  }
}

/**
 * A send that no retry can make succeed: the homeserver refused the request
 * itself (400 M_BAD_JSON / M_NOT_JSON / M_UNKNOWN, 403 M_FORBIDDEN, 404,
 * 413 M_TOO_LARGE…) or the content cannot be encoded. 401 (the as_token is
 * not known yet), 408 and 429 are about the moment, not the request.
 */
export function isPermanentSendError(err: unknown): boolean {
  if (err instanceof CanonicalJsonError) return true;
  if (!(err instanceof MatrixApiError)) return false;
  return err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 408 && err.status !== 429;
}

/** What a failed send is called in logs and metrics. */
export function refusalCode(err: unknown): { errcode: string; status: number | null } {
  if (err instanceof CanonicalJsonError) return { errcode: 'M_CANONICAL_JSON', status: null };
  if (err instanceof MatrixApiError) return { errcode: err.errcode, status: err.status };
  return { errcode: 'M_UNKNOWN', status: null };
}

/** What a Client-Server request creates: events of a room, or nothing (`other`: lookups, joins, profiles, typing…). */
export type SendKind = 'message' | 'event' | 'state' | 'redaction' | 'room' | 'other';

/** The kind of send a Client-Server call is (method and path without the query). */
export function sendKind(method: string, path: string): SendKind {
  if (method === 'PUT') {
    const send = /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\/([^/]+)\/[^/]+$/.exec(path);
    if (send) return decodeURIComponent(send[1]!) === 'm.room.message' ? 'message' : 'event';
    if (/^\/_matrix\/client\/v3\/rooms\/[^/]+\/state\//.test(path)) return 'state';
    if (/^\/_matrix\/client\/v3\/rooms\/[^/]+\/redact\//.test(path)) return 'redaction';
  }
  if (method === 'POST' && path === '/_matrix/client/v3/createRoom') return 'room';
  return 'other';
}

/** Endpoints whose body becomes event content (or, for createRoom, several events). */
const EVENT_BODY = [
  /^PUT \/_matrix\/client\/v3\/rooms\/[^/]+\/send\/[^/]+\/[^/]+$/,
  /^PUT \/_matrix\/client\/v3\/rooms\/[^/]+\/state\/[^/]+(\/[^/]*)?$/,
  /^PUT \/_matrix\/client\/v3\/rooms\/[^/]+\/redact\/[^/]+\/[^/]+$/,
];

function checkEventBody(endpoint: string, body: unknown): void {
  if (endpoint === 'POST /_matrix/client/v3/createRoom') {
    const b = (body ?? {}) as { initial_state?: Array<{ content?: unknown }>; power_level_content_override?: unknown; creation_content?: unknown };
    for (const part of [...(b.initial_state ?? []).map((s) => s.content), b.power_level_content_override, b.creation_content]) {
      if (part === undefined) continue;
      const bytes = canonicalJsonBytes(part);
      if (bytes > MAX_CONTENT_BYTES) throw new EventTooLargeError(endpoint, bytes);
    }
    return;
  }
  if (!EVENT_BODY.some((re) => re.test(endpoint))) return;
  const bytes = canonicalJsonBytes(body);
  if (bytes > MAX_CONTENT_BYTES) throw new EventTooLargeError(endpoint, bytes);
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  /** Masquerade as this user (an appservice ghost); default: the bot. */
  asUser?: string;
  /** Fewer retries for calls that only probe (health). */
  attempts?: number;
  timeoutMs?: number;
}

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  /** `redacted_because` when the event was redacted. */
  unsigned?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const enc = encodeURIComponent;

export class MatrixClient {
  private readonly base: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: MatrixClientOptions) {
    this.base = options.homeserverUrl.replace(/\/+$/, '');
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  get botUserId(): string {
    return this.options.botUserId;
  }

  /** One API call with retries; returns the parsed JSON body. */
  private async request<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    // Sends (what creates events) are counted; lookups, whose "not found" is an answer, are not.
    const kind = sendKind(method, path.replace(/\?.*$/, ''));
    let res: Response;
    try {
      res = await this.fetchWithRetry(method, path, opts);
    } catch (err) {
      if (kind !== 'other') this.options.metrics?.sendFailed(kind, err);
      throw err;
    }
    if (kind !== 'other') this.options.metrics?.sent(kind);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async fetchWithRetry(method: string, path: string, opts: RequestOptions, accept?: string): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const asUser = opts.asUser ?? this.options.botUserId;
    if (asUser !== this.options.botUserId) url.searchParams.set('user_id', asUser);
    const endpoint = `${method} ${path.replace(/\?.*$/, '')}`;
    for (const segment of path.replace(/\?.*$/, '').split('/')) {
      if (Buffer.byteLength(decodeURIComponent(segment)) > MAX_ID_BYTES) throw new MatrixApiError(400, 'M_INVALID_PARAM', `a path segment is longer than ${MAX_ID_BYTES} bytes`, endpoint);
    }
    // Encoded once, before any attempt: a body that cannot be canonical JSON never leaves.
    const payload = opts.body === undefined ? undefined : encodeCanonicalJson(opts.body, `the body of ${method} ${path.replace(/\?.*$/, '')}`);
    if (opts.body !== undefined) checkEventBody(endpoint, opts.body);
    const attempts = opts.attempts ?? this.maxAttempts;
    let delay = this.baseDelayMs;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.options.asToken}`,
            ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(accept ? { accept } : {}),
          },
          body: payload,
          signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
        });
      } catch (err) {
        if (attempt >= attempts) throw new MatrixApiError(0, 'M_CONNECTION_FAILED', (err as Error).message, endpoint);
        this.options.metrics?.retried('M_CONNECTION_FAILED');
        this.options.logger?.warn({ channel: 'matrix', event: 'cs.retry', endpoint, attempt, reason: (err as Error).message }, 'homeserver unreachable; retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, this.maxDelayMs);
        continue;
      }
      if (res.ok) return res;
      const body = (await res.json().catch(() => ({}))) as { errcode?: string; error?: string; retry_after_ms?: number };
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= attempts) throw new MatrixApiError(res.status, body.errcode ?? 'M_UNKNOWN', body.error ?? res.statusText, endpoint);
      this.options.metrics?.retried(body.errcode ?? 'M_UNKNOWN');
      const header = Number(res.headers.get('retry-after'));
      const wait = res.status === 429 ? (body.retry_after_ms ?? (Number.isFinite(header) && header > 0 ? header * 1000 : delay)) : delay;
      this.options.logger?.warn({ channel: 'matrix', event: 'cs.retry', endpoint, attempt, status: res.status, errcode: body.errcode, waitMs: wait }, 'homeserver asked us to retry');
      await sleep(Math.min(wait, this.maxDelayMs * 6));
      delay = Math.min(delay * 2, this.maxDelayMs);
    }
  }

  // ---- account and profile ------------------------------------------------------------

  /** Registers an appservice user; one that exists already (M_USER_IN_USE) counts as success. */
  async registerUser(localpart: string): Promise<void> {
    try {
      await this.request('POST', '/_matrix/client/v3/register', { body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
    } catch (err) {
      if (!isMatrixError(err, 'M_USER_IN_USE')) throw err;
    }
  }

  async getProfile(userId: string): Promise<{ displayname?: string; avatar_url?: string } | null> {
    try {
      return await this.request('GET', `/_matrix/client/v3/profile/${enc(userId)}`, { attempts: 2 });
    } catch (err) {
      if (isMatrixError(err, 'M_NOT_FOUND')) return null;
      throw err;
    }
  }

  async setDisplayName(userId: string, displayname: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/profile/${enc(userId)}/displayname`, { body: { displayname }, asUser: userId });
  }

  async setAvatarUrl(userId: string, avatarUrl: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/profile/${enc(userId)}/avatar_url`, { body: { avatar_url: avatarUrl }, asUser: userId });
  }

  /** The user's global account data of this type, or null when there is none. */
  async getAccountData(userId: string, type: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.request('GET', `/_matrix/client/v3/user/${enc(userId)}/account_data/${enc(type)}`, { asUser: userId });
    } catch (err) {
      if (isMatrixError(err, 'M_NOT_FOUND')) return null;
      throw err;
    }
  }

  async setAccountData(userId: string, type: string, content: Record<string, unknown>): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/user/${enc(userId)}/account_data/${enc(type)}`, { body: content, asUser: userId });
  }

  async whoami(asUser?: string): Promise<{ user_id: string }> {
    return this.request('GET', '/_matrix/client/v3/account/whoami', { ...(asUser ? { asUser } : {}), attempts: 1, timeoutMs: 5000 });
  }

  async versions(): Promise<{ versions: string[] }> {
    return this.request('GET', '/_matrix/client/versions', { attempts: 1, timeoutMs: 5000 });
  }

  /** Asks the homeserver to call our `/_matrix/app/v1/ping`: proves both directions work. */
  async ping(appserviceId: string, transactionId?: string): Promise<{ duration_ms: number }> {
    return this.request('POST', `/_matrix/client/v1/appservice/${enc(appserviceId)}/ping`, { body: transactionId ? { transaction_id: transactionId } : {}, attempts: 1, timeoutMs: 5000 });
  }

  // ---- rooms ----------------------------------------------------------------------------

  async createRoom(body: Record<string, unknown>, asUser?: string): Promise<string> {
    const res = await this.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { body, ...(asUser ? { asUser } : {}) });
    return res.room_id;
  }

  async join(roomIdOrAlias: string, asUser: string): Promise<string> {
    const res = await this.request<{ room_id: string }>('POST', `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, { body: {}, asUser });
    return res.room_id;
  }

  async leave(roomId: string, asUser: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { body: {}, asUser });
  }

  async invite(roomId: string, userId: string, asUser: string): Promise<void> {
    try {
      await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { body: { user_id: userId }, asUser });
    } catch (err) {
      // Inviting someone already in the room is not a failure for our purposes.
      if (isMatrixError(err, 'M_FORBIDDEN') && /already (in|joined)/i.test(err.message)) return;
      throw err;
    }
  }

  async kick(roomId: string, userId: string, asUser: string, reason?: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { body: { user_id: userId, ...(reason ? { reason } : {}) }, asUser });
  }

  async joinedMembers(roomId: string, asUser: string): Promise<Record<string, { display_name?: string | null }>> {
    const res = await this.request<{ joined: Record<string, { display_name?: string | null }> }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { asUser });
    return res.joined;
  }

  /** A state event's content, or null when the room has none. */
  async getState(roomId: string, type: string, stateKey: string, asUser: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.request('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { asUser });
    } catch (err) {
      if (isMatrixError(err, 'M_NOT_FOUND')) return null;
      throw err;
    }
  }

  async putState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>, asUser: string): Promise<string> {
    const res = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { body: content, asUser });
    return res.event_id;
  }

  /** Sends an event; the same txnId from the same user is the same event (idempotent). */
  async sendEvent(roomId: string, type: string, txnId: string, content: Record<string, unknown>, asUser: string): Promise<string> {
    const res = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`, { body: content, asUser });
    return res.event_id;
  }

  async redact(roomId: string, eventId: string, txnId: string, asUser: string, reason?: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(txnId)}`, { body: reason ? { reason } : {}, asUser });
  }

  /** One page of a room's timeline, newest first from `from` (the end when absent): `end` pages further back (absent: no more). */
  async messages(roomId: string, asUser: string, opts: { from?: string; limit?: number } = {}): Promise<{ chunk: RoomEvent[]; end?: string }> {
    return this.request<{ chunk: RoomEvent[]; end?: string }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, {
      asUser,
      query: { dir: 'b', limit: String(opts.limit ?? 100), ...(opts.from ? { from: opts.from } : {}) },
    });
  }

  /** Events relating to `eventId` with `relType` (e.g. its m.replace edits), one page; `next_batch` continues. */
  async relations(roomId: string, eventId: string, relType: string, asUser: string, from?: string): Promise<{ chunk: RoomEvent[]; next_batch?: string }> {
    return this.request<{ chunk: RoomEvent[]; next_batch?: string }>('GET', `/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(eventId)}/${enc(relType)}`, {
      asUser,
      query: { limit: '100', ...(from ? { from } : {}) },
    });
  }

  async setTyping(roomId: string, userId: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(userId)}`, { body: typing ? { typing: true, timeout: timeoutMs } : { typing: false }, asUser: userId, attempts: 2 });
  }

  async getEvent(roomId: string, eventId: string, asUser: string): Promise<RoomEvent | null> {
    try {
      return await this.request<RoomEvent>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, { asUser });
    } catch (err) {
      if (isMatrixError(err, 'M_NOT_FOUND')) return null;
      throw err;
    }
  }

  async resolveAlias(alias: string): Promise<string | null> {
    try {
      const res = await this.request<{ room_id: string }>('GET', `/_matrix/client/v3/directory/room/${enc(alias)}`);
      return res.room_id;
    } catch (err) {
      if (isMatrixError(err, 'M_NOT_FOUND')) return null;
      throw err;
    }
  }

  // ---- media ----------------------------------------------------------------------------

  /** Downloads `mxc://server/mediaId` through the authenticated media API. */
  async downloadMedia(mxc: string, maxBytes: number): Promise<{ data: Buffer; contentType: string }> {
    const m = parseMxc(mxc);
    if (!m) throw new MatrixApiError(400, 'M_INVALID_PARAM', 'not an mxc URI (mxc://<server-name>/<media-id>)', 'media download');
    const res = await this.fetchWithRetry('GET', `/_matrix/client/v1/media/download/${enc(m.serverName)}/${enc(m.mediaId)}`, { attempts: 3 });
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > maxBytes) {
      await res.body?.cancel();
      throw new MatrixApiError(413, 'M_TOO_LARGE', `media is ${length} bytes, more than ${maxBytes}`, 'media download');
    }
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length > maxBytes) throw new MatrixApiError(413, 'M_TOO_LARGE', `media is ${data.length} bytes, more than ${maxBytes}`, 'media download');
    return { data, contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** The authenticated download URL of an mxc URI (for links; fetching it needs a token). */
  mediaUrl(mxc: string): string | null {
    const m = parseMxc(mxc);
    return m ? `${this.base}/_matrix/client/v1/media/download/${enc(m.serverName)}/${enc(m.mediaId)}` : null;
  }
}
