/**
 * TestHomeserver: an in-process Matrix homeserver for tests. Every request it
 * receives and every response it sends goes through the spec checker; a
 * violation answers the request as a real server would (400 M_BAD_JSON for a
 * bad request) and is recorded, so `assertNoSpecViolations()` fails the test
 * that caused it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Accounts, loadRegistration, type AppserviceRegistration, type Requester } from './auth.ts';
import { AppservicePusher, type PusherOptions } from './appservice.ts';
import { MatrixError, Reply, Router, toReply, type RequestContext } from './router.ts';
import { RoomStore, clientEvent, type Room, type StoredEvent } from './rooms.ts';
import { SpecChecker, formatViolation, type SpecViolation } from './spec-checker.ts';
import { MediaStore, registerMediaApi } from './media.ts';
import { registerAccountApi } from './api-account.ts';
import { registerRoomApi } from './api-rooms.ts';
import { registerSyncApi } from './api-sync.ts';
import { registerAppserviceApi } from './api-appservice.ts';
import { AdminHooks, registerAdminApi } from './admin.ts';
import { SendFaults, SlowAnswers } from './faults.ts';
import { requireCanonicalText, requireShortIds } from './canonical-json.ts';
import { createHuman, type Human } from './humans.ts';

export interface TestHomeserverOptions {
  /** Default `localhost`; user IDs are `@name:<serverName>`. */
  serverName?: string;
  /** An appservice registration (object, or a path to its YAML file); or several. */
  registration?: object | string | (object | string)[];
  /** Appservice push behaviour (fast retries by default). */
  push?: PusherOptions;
  /**
   * Message rate limit per user (Synapse's default: 0.2/s, burst 10);
   * appservice users with `rate_limited: false` are exempt. `false` disables it.
   */
  rateLimit?: { perSecond: number; burst: number } | false;
  /** Port to listen on (default: a random free one) on 127.0.0.1. */
  port?: number;
}

/** Client-Server endpoints whose JSON body becomes event content (checked as canonical JSON text). */
const EVENT_BODIES = /^\/_matrix\/client\/v3\/(createRoom$|rooms\/[^/]+\/(send|state|redact|invite|kick|ban|unban|leave|join)(\/|$)|join\/|profile\/[^/]+\/(displayname|avatar_url)$)/;

export class TestHomeserver {
  readonly serverName: string;
  readonly accounts: Accounts;
  readonly rooms: RoomStore;
  readonly media = new MediaStore();
  /** Test control: refuse sends (see faults.ts). */
  readonly sendFaults = new SendFaults();
  /** The same controls for `PUT /rooms/{roomId}/redact/...` (the content checked is `{ redacts }`). */
  readonly redactFaults = new SendFaults();
  /** Test control: answer matching requests late (see faults.ts). */
  readonly slowAnswers = new SlowAnswers();
  readonly checker = SpecChecker.get();
  readonly pushers = new Map<string, AppservicePusher>();
  readonly admin: AdminHooks;
  /** Spec violations not yet asserted on. */
  readonly violations: SpecViolation[] = [];
  readonly router = new Router();
  private server: http.Server | undefined;
  private tamper: ((body: unknown) => unknown) | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  readonly rateLimit: { perSecond: number; burst: number } | false;
  url = '';

  private constructor(readonly options: TestHomeserverOptions) {
    this.serverName = options.serverName ?? 'localhost';
    this.accounts = new Accounts(this.serverName);
    this.rooms = new RoomStore(this.serverName);
    this.rateLimit = options.rateLimit ?? { perSecond: 0.2, burst: 10 };
    const regs = options.registration === undefined ? [] : Array.isArray(options.registration) ? options.registration : [options.registration];
    for (const source of regs) {
      const reg = loadRegistration(source);
      this.accounts.addAppservice(reg);
      this.pushers.set(reg.id, new AppservicePusher(reg, this.checker, (v) => this.recordViolations(v), options.push));
    }
    this.rooms.onChange((room, event) => this.onRoomChange(room, event));
    this.admin = new AdminHooks(this);
    registerAccountApi(this);
    registerRoomApi(this);
    registerSyncApi(this);
    registerAppserviceApi(this);
    registerMediaApi(this);
    registerAdminApi(this);
  }

  static async start(options: TestHomeserverOptions = {}): Promise<TestHomeserver> {
    const hs = new TestHomeserver(options);
    await hs.listen(options.port ?? 0);
    return hs;
  }

  private listen(port: number): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    for (const p of this.pushers.values()) p.stop();
    this.rooms.wakeAll();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---- spec violations -------------------------------------------------

  recordViolations(v: SpecViolation[]): void {
    this.violations.push(...v);
  }

  /** Throws (and clears) if anything broke the spec since the last call: use in `afterEach`. */
  assertNoSpecViolations(): void {
    if (this.violations.length === 0) return;
    const list = this.violations.splice(0);
    throw new Error(`Matrix spec violations (${list.length}):\n${list.map((v) => `  - ${formatViolation(v)}`).join('\n')}`);
  }

  /** Returns and clears the recorded violations (for tests that expect some). */
  takeSpecViolations(): SpecViolation[] {
    return this.violations.splice(0);
  }

  /** Test control: pass the next response body through `fn` before it is checked and sent. */
  tamperWithNextResponse(fn: (body: unknown) => unknown): void {
    this.tamper = fn;
  }

  // ---- helpers for the API modules -------------------------------------

  authenticate(ctx: RequestContext): Requester {
    return this.accounts.authenticate(ctx);
  }

  pusher(id: string): AppservicePusher {
    const p = this.pushers.get(id);
    if (!p) throw new Error(`no appservice "${id}" registered`);
    return p;
  }

  appservicePusherFor(reg: AppserviceRegistration): AppservicePusher {
    return this.pusher(reg.id);
  }

  /** Token bucket for message sends; throws 429 M_LIMIT_EXCEEDED. */
  checkRateLimit(who: Requester): void {
    if (!this.rateLimit) return;
    const as = who.appservice ?? (this.accounts.users.get(who.userId)?.appserviceId ? this.accounts.appservices.find((a) => a.id === this.accounts.users.get(who.userId)!.appserviceId) : undefined);
    if (as && as.rate_limited === false) return;
    const now = Date.now();
    const b = this.buckets.get(who.userId) ?? { tokens: this.rateLimit.burst, at: now };
    b.tokens = Math.min(this.rateLimit.burst, b.tokens + ((now - b.at) / 1000) * this.rateLimit.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(who.userId, b);
      throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: Math.ceil(((1 - b.tokens) / this.rateLimit.perSecond) * 1000) });
    }
    b.tokens -= 1;
    this.buckets.set(who.userId, b);
  }

  /** Makes sure a user exists, asking the owning appservice first (the spec's user query). */
  async ensureUserKnown(userId: string): Promise<boolean> {
    if (this.accounts.users.has(userId)) return true;
    const as = this.accounts.appserviceForUser(userId);
    if (!as) return false;
    await this.pusher(as.id).query('users', userId);
    return this.accounts.users.has(userId);
  }

  // ---- appservice interest ---------------------------------------------

  private interested(as: AppserviceRegistration, room: Room, event: StoredEvent): boolean {
    const a = this.accounts;
    if (a.isInUserNamespace(as, event.sender)) return true;
    if (event.type === 'm.room.member' && a.isInUserNamespace(as, event.state_key!)) return true;
    if (a.isInRoomNamespace(as, room.roomId)) return true;
    if (room.members('join').some((u) => a.isInUserNamespace(as, u))) return true;
    if (room.members('invite').some((u) => a.isInUserNamespace(as, u))) return true;
    const alias = room.getState('m.room.canonical_alias')?.content.alias;
    return typeof alias === 'string' && a.isInAliasNamespace(as, alias);
  }

  private onRoomChange(room: Room, event: StoredEvent | undefined): void {
    if (!event) return;
    const full = clientEvent(event);
    delete (full.unsigned as Record<string, unknown>).age;
    if (Object.keys(full.unsigned as object).length === 0) delete full.unsigned;
    this.recordViolations(this.checker.checkEvent(`stored event ${event.type}`, full));
    for (const as of this.accounts.appservices) {
      if (this.interested(as, room, event)) this.pusher(as.id).enqueue(clientEvent(event));
    }
  }

  /** Ephemeral events (typing) for appservices that asked for them. */
  pushEphemeral(room: Room, data: Record<string, unknown>): void {
    for (const as of this.accounts.appservices) {
      if (room.members('join').some((u) => this.accounts.isInUserNamespace(as, u))) this.pusher(as.id).enqueueEphemeral(data);
    }
  }

  // ---- test users ------------------------------------------------------

  /** A logged-in human user driven by matrix-js-sdk (see humans.ts). */
  createHuman(localpart: string, opts: { displayname?: string } = {}): Promise<Human> {
    return createHuman(this, localpart, opts);
  }

  /** Waits until every appservice has been sent (and has acknowledged) everything queued for it. */
  async flushPushes(): Promise<void> {
    await Promise.all([...this.pushers.values()].map((p) => p.idle()));
  }

  // ---- request pipeline ------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rawPath = url.pathname;
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks);
    const contentType = req.headers['content-type'];
    const found = this.checker.findOperation(method, rawPath);
    const isAdmin = rawPath.startsWith('/_synapse/admin/');
    let reply: Reply;
    try {
      if (method === 'OPTIONS') {
        reply = new Reply(204, undefined);
      } else {
        if (!found && !isAdmin) {
          this.recordViolations([{ kind: 'unknown-endpoint', endpoint: `${method} ${rawPath}`, schemaPath: '(no operation in the spec)', message: 'the spec defines no such endpoint' }]);
          throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
        }
        const isJson = !found || found.op.requestContentTypes.length === 0 || found.op.requestContentTypes.includes('application/json');
        let body: unknown;
        if (isJson && rawBody.length > 0) {
          try {
            body = JSON.parse(rawBody.toString('utf8'));
          } catch {
            throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
          }
        } else if (!isJson) {
          body = rawBody;
        }
        const ctx: RequestContext = { method, rawPath, params: found?.params ?? {}, query: url.searchParams, headers: req.headers, body, rawBody };
        if (found) {
          const { op, violations } = this.checker.checkRequestAny(found, url.searchParams, isJson ? body : undefined, isJson ? contentType : undefined);
          found.op = op;
          if (violations.length) {
            this.recordViolations(violations);
            throw new MatrixError(400, 'M_BAD_JSON', `Request does not match the spec: ${violations.map((v) => v.message).join('; ')}`);
          }
        }
        const route = this.router.match(method, rawPath);
        if (route === undefined) throw new MatrixError(404, 'M_UNRECOGNIZED', `${method} ${rawPath} is not implemented by the test homeserver`);
        if (route === 'method') throw new MatrixError(405, 'M_UNRECOGNIZED', 'Method not allowed');
        ctx.params = route.params;
        requireShortIds(route.params);
        if (isJson && EVENT_BODIES.test(rawPath)) requireCanonicalText(rawBody);
        reply = toReply(await route.handler(ctx));
        const late = this.slowAnswers.delayFor(method, rawPath, url.searchParams.get('user_id'));
        if (late > 0) await new Promise((r) => setTimeout(r, late));
      }
    } catch (err) {
      if (err instanceof MatrixError) reply = new Reply(err.status, err.body());
      else {
        console.error('test homeserver: handler crashed', err);
        reply = new Reply(500, { errcode: 'M_UNKNOWN', error: (err as Error).message });
      }
    }
    let body = reply.body;
    if (this.tamper && reply.contentType === 'application/json' && found) {
      body = this.tamper(structuredClone(body));
      this.tamper = undefined;
    }
    if (found && reply.contentType === 'application/json') this.recordViolations(this.checker.checkResponse(found.op, reply.status, body));
    const headers: Record<string, string> = { 'access-control-allow-origin': '*', ...reply.headers };
    if (body === undefined) {
      res.writeHead(reply.status, headers).end();
    } else if (Buffer.isBuffer(body)) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType }).end(body);
    } else {
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
  }
}
