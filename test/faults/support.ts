/**
 * The fault-injection environment: a private redis-server and PostgreSQL
 * (test/support/private-services.ts), the model as its own process
 * (model-process.ts) and Mosaic as `mosaic start` — all real processes the
 * tests kill, stop and start. Nothing here touches the machine's shared
 * Redis or PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { BIN, REPO, baseEnv, freePort, lastLine, runMosaic, startServer, type ServerProcess } from '../support/processes.ts';
import { startPrivatePostgres, startPrivateRedis, type PrivateService } from '../support/private-services.ts';
import { SIMULATOR_KEY } from '../simulators/index.ts';

/** No request may take longer than this, outage or not (the gate answers at once; in-flight work is bounded by the 2 s Valkey command timeout). */
export const REQUEST_BOUND_MS = 5000;

export interface Sent {
  status: number;
  ms: number;
  messageId?: string;
  retryAfter: string | null;
  errorCode?: string;
  /** The request had no answer within 15 s (a hang). */
  hung?: boolean;
}

export interface StoredRow {
  id: string;
  role: string;
  reply_to_id: string | null;
  content: string;
  metadata: Record<string, unknown>;
}

/** The model process: started on a fixed port, so it comes back at the same address after a kill. */
export class ModelProcess {
  private child: ChildProcess | null = null;
  private out = '';
  baseUrl = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<ModelProcess> {
    const m = new ModelProcess(await freePort());
    await m.start();
    return m;
  }

  async start(): Promise<void> {
    const child = spawn('node', [path.join(REPO, 'bin', 'run-ts.js'), path.join(REPO, 'test', 'faults', 'model-process.ts'), String(this.port)], { cwd: REPO, env: baseEnv() });
    this.child = child;
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const url = /model listening on (\S+)/.exec(this.out)?.[1];
      if (url) {
        this.baseUrl = url;
        return;
      }
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`the model process did not start:\n${this.out}`);
  }

  /** The user texts of the chat requests it received, in order (across restarts). */
  chats(): string[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{"chat"'))
      .map((l) => (JSON.parse(l) as { chat: string }).chat);
  }

  async kill(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
}

export class FaultEnv {
  mosaic: ServerProcess | null = null;
  token = '';
  readonly port: Promise<number> = freePort();
  private readonly db: pg.Pool;
  /** Output of every Mosaic process so far (a restart starts a new one). */
  private previousOutput = '';

  private constructor(
    readonly redis: PrivateService,
    readonly postgres: PrivateService,
    readonly model: ModelProcess,
    readonly cwd: string,
  ) {
    this.db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    this.db.on('error', () => undefined);
  }

  static async create(): Promise<FaultEnv> {
    const [redis, postgres, model] = await Promise.all([startPrivateRedis(), startPrivatePostgres(), ModelProcess.start()]);
    const env = new FaultEnv(redis, postgres, model, mkdtempSync(path.join(tmpdir(), 'mosaic-faults-')));
    const port = await env.port;
    // Only OpenAI (the model process) is enabled, so every answer goes to it and every notice is about it.
    writeFileSync(
      path.join(env.cwd, 'config.yaml'),
      [
        `http: { port: ${port}, host: 127.0.0.1, rateLimitPerMinute: 100000 }`,
        'metrics: { enabled: false }',
        'web: { enabled: false }',
        `database: { url: "${postgres.url}", poolSize: 5 }`,
        `valkey: { url: "${redis.url}", keyPrefix: mosaic-faults }`,
        'providers:',
        `  openai: { enabled: true, apiKey: ${SIMULATOR_KEY}, baseUrl: "${model.baseUrl}" }`,
        '  anthropic: { enabled: false }',
        '  openrouter: { enabled: false }',
        '  zai: { enabled: false }',
        '  ollama: { enabled: false }',
        '  maxRetries: 0',
        '  streamIdleTimeoutMs: 5000',
        'routing: { fallbackChain: [{ provider: openai, model: gpt-6-luna }] }',
        'jobs: { shutdownTimeoutMs: 2000 }',
        'conversations: { recoveryIntervalMs: 1000 }',
        '',
      ].join('\n'),
    );
    await env.startMosaic();
    const created = runMosaic(['user', 'create', 'faults', '--admin'], { cwd: env.cwd, env: { LOG_LEVEL: 'warn' } });
    if (created.status !== 0) throw new Error(`mosaic user create failed:\n${created.stdout}${created.stderr}`);
    env.token = lastLine(created.stdout);
    return env;
  }

  /** Fixed across restarts (the JSON log line's URL is not cut cleanly by the shared helper's pattern). */
  url = '';

  async startMosaic(): Promise<void> {
    this.mosaic = await startServer({ cwd: this.cwd, env: { LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
    this.url = `http://127.0.0.1:${await this.port}`;
  }

  /** SIGKILL: nothing is cleaned up, nothing is released. */
  async crash(): Promise<void> {
    if (!this.mosaic) return;
    this.previousOutput += this.mosaic.output();
    await this.mosaic.crash();
    this.mosaic = null;
  }

  /** Every log line of every Mosaic process so far, parsed (JSON lines only). */
  logs(): Array<Record<string, unknown>> {
    return `${this.previousOutput}${this.mosaic?.output() ?? ''}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  rawLogs(): string {
    return `${this.previousOutput}${this.mosaic?.output() ?? ''}`;
  }

  async api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers; ms: number }> {
    const started = Date.now();
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers, ms: Date.now() - started };
  }

  async conversation(): Promise<string> {
    const res = await this.api<{ id: string }>('POST', '/api/conversations', {});
    if (res.status !== 201) throw new Error(`creating a conversation answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  /** One message; a hang (no answer in 15 s) is recorded, not thrown. */
  async send(conversationId: string, content: string): Promise<Sent> {
    const started = Date.now();
    try {
      const res = await this.api<{ messageId?: string; error?: { code: string } }>('POST', `/api/conversations/${conversationId}/messages`, { content });
      return {
        status: res.status,
        ms: res.ms,
        retryAfter: res.headers.get('retry-after'),
        ...(res.body?.messageId ? { messageId: res.body.messageId } : {}),
        ...(res.body?.error ? { errorCode: res.body.error.code } : {}),
      };
    } catch {
      return { status: 0, ms: Date.now() - started, retryAfter: null, hung: true };
    }
  }

  /** Sends a message every `everyMs` for `forMs`, while `during` runs (the fault). */
  async traffic(conversationId: string, forMs: number, everyMs: number, during: () => Promise<void>): Promise<Sent[]> {
    const sent: Promise<Sent>[] = [];
    const end = Date.now() + forMs;
    const fault = during();
    for (let i = 0; Date.now() < end; i++) {
      sent.push(this.send(conversationId, `Traffic message ${i}`));
      await sleep(everyMs);
    }
    await fault;
    return Promise.all(sent);
  }

  /** The conversation's rows, straight from the database (works whatever Mosaic is doing). */
  async rows(conversationId: string): Promise<StoredRow[]> {
    const { rows } = await this.db.query<StoredRow>('select id, role, reply_to_id, content, metadata from messages where conversation_id = $1 order by seq', [conversationId]);
    return rows;
  }

  /** What answers a message: its final reply or its notice. */
  static answersTo(rows: StoredRow[], messageId: string): StoredRow[] {
    return rows.filter((r) => r.reply_to_id === messageId && (r.role === 'system' || r.metadata.final === true));
  }

  /** Waits until every message has something that answers it; returns the rows then. */
  async answered(conversationId: string, messageIds: string[], timeoutMs = 90_000): Promise<StoredRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.rows(conversationId).catch(() => [] as StoredRow[]);
      const missing = messageIds.filter((id) => FaultEnv.answersTo(rows, id).length === 0);
      if (missing.length === 0) return rows;
      if (Date.now() > deadline) throw new Error(`${missing.length} of ${messageIds.length} message(s) never answered: ${missing.join(', ')}\n--- mosaic log tail ---\n${this.rawLogs().split('\n').slice(-40).join('\n')}`);
      await sleep(200);
    }
  }

  async close(): Promise<void> {
    await this.mosaic?.stop().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    await this.model.kill();
    await Promise.all([this.redis.close(), this.postgres.close()]);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for `probe` to be true. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export { BIN };
