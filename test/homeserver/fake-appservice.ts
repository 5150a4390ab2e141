/**
 * A tiny stand-in appservice for the homeserver's own tests: records the
 * transactions, queries and pings it receives, checks the hs_token, and can
 * be told to fail. (Mosaic's real appservice lives in appservice/.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  accessTokenParam: string | null;
  body: unknown;
}

export class FakeAppservice {
  readonly requests: ReceivedRequest[] = [];
  /** Answer the next `n` transactions with this status instead of 200. */
  failNext = 0;
  failStatus = 500;
  /** Called on user / alias queries; return true to answer 200 (after creating the user or alias). */
  onQuery: (kind: 'users' | 'rooms', id: string) => Promise<boolean> | boolean = () => false;
  url = '';
  private server: http.Server | undefined;

  constructor(readonly hsToken: string) {}

  static async start(hsToken: string): Promise<FakeAppservice> {
    const as = new FakeAppservice(hsToken);
    as.server = http.createServer((req, res) => void as.handle(req, res));
    await new Promise<void>((resolve) => as.server!.listen(0, '127.0.0.1', resolve));
    as.url = `http://127.0.0.1:${(as.server.address() as AddressInfo).port}`;
    return as;
  }

  /** Transactions received, in order, duplicates included. */
  get transactions(): { txnId: string; body: { events: Record<string, unknown>[]; ephemeral?: unknown[] } }[] {
    return this.requests
      .filter((r) => r.method === 'PUT' && r.path.startsWith('/_matrix/app/v1/transactions/'))
      .map((r) => ({ txnId: decodeURIComponent(r.path.split('/').pop()!), body: r.body as { events: Record<string, unknown>[] } }));
  }

  /** All events received in transactions (duplicates included). */
  get events(): Record<string, unknown>[] {
    return this.transactions.flatMap((t) => t.body.events);
  }

  async waitFor<T>(find: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = find();
      if (hit !== undefined && hit !== false) return hit;
      if (Date.now() > deadline) throw new Error('fake appservice: timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const record: ReceivedRequest = { method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, accessTokenParam: url.searchParams.get('access_token'), body: text ? JSON.parse(text) : undefined };
    this.requests.push(record);
    const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const token = record.authorization?.replace(/^Bearer /, '') ?? record.accessTokenParam;
    if (token !== this.hsToken) return send(403, { errcode: 'M_FORBIDDEN', error: 'Bad hs_token' });
    if (record.method === 'PUT' && url.pathname.startsWith('/_matrix/app/v1/transactions/')) {
      if (this.failNext > 0) { this.failNext--; return send(this.failStatus, { errcode: 'M_UNKNOWN', error: 'failing on purpose' }); }
      return send(200, {});
    }
    const query = /^\/_matrix\/app\/v1\/(users|rooms)\/(.+)$/.exec(url.pathname);
    if (record.method === 'GET' && query) {
      const ok = await this.onQuery(query[1] as 'users' | 'rooms', decodeURIComponent(query[2]!));
      return ok ? send(200, {}) : send(404, { errcode: 'M_NOT_FOUND', error: 'not here' });
    }
    if (record.method === 'POST' && url.pathname === '/_matrix/app/v1/ping') return send(200, {});
    send(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
  }
}
