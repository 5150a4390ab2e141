/**
 * The shared core of the provider simulators: an HTTP server on 127.0.0.1
 * that records every request and answers chat requests from a script of
 * steps (or, with no script, with a deterministic echo of the last user
 * message). Each provider's file only turns a plan into its own wire frames.
 *
 * Never shipped: only tests import this.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';

export type SimErrorKind = 'auth' | 'rate_limit' | 'server' | 'overloaded' | 'context_length' | 'bad_request' | 'not_found';

/** One scripted answer. Everything is optional: an empty step is the default echo. */
export interface Step {
  /** Which kind of request the step answers; default 'chat'. */
  on?: 'chat' | 'models' | 'embed';
  /** Reply text (default: the echo of the last user message). */
  text?: string;
  /** Reasoning text streamed before the answer. */
  thinking?: string;
  /** Make one tool call (after `text`, if any). */
  toolCall?: { name: string; arguments: Record<string, unknown>; id?: string };
  /** Answer with this error in the provider's own format. */
  error?: SimErrorKind;
  /** With `error: 'rate_limit'`: the retry-after header in seconds. */
  retryAfterSeconds?: number;
  /** Error event in the middle of the stream (after `errorAfterFrames` frames). */
  midStreamError?: 'overloaded' | 'server';
  errorAfterFrames?: number;
  /** Send this many frames, then hang with the connection open. */
  stallAfterFrames?: number;
  /** Send this many good frames, then an unparseable one, then end. */
  malformedAfterFrames?: number;
  /** Wait this long before sending headers (slow answer). */
  delayMs?: number;
  /** Wait this long between frames (slow stream). */
  frameDelayMs?: number;
  /** Split text into chunks of this many characters (default 8). */
  chunkSize?: number;
  /** Token counts reported (defaults derived from the request and reply). */
  usage?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number };
  /** Finish reason override, in the provider's own vocabulary. */
  finishReason?: string;
  /** The model the answer says it came from (a dated snapshot id, say); default: the one asked for. */
  model?: string;
}

export type StepFn = (request: RecordedRequest) => Step;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (undefined for GET). */
  body: unknown;
  /** 'chat' | 'models' | 'embed' | 'other'. */
  kind: 'chat' | 'models' | 'embed' | 'other';
  /** Set when the client went away before the response was complete. */
  clientClosed: boolean;
  /** Set when the simulator finished the response. */
  completed: boolean;
  at: number;
}

/** What a chat answer will contain, independent of the wire format. */
export interface Plan {
  model: string;
  thinking?: string;
  /** Anthropic: the signature of the thinking block (a fixed one when unset). */
  signature?: string;
  textChunks: string[];
  toolCall?: { id: string; name: string; arguments: Record<string, unknown>; argChunks: string[] };
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
  finishReason?: string;
}

/** The last user message's text, whatever the format put it in. */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      const texts = m.content.filter((p: { type?: string }) => p?.type === 'text').map((p: { text?: string }) => p.text ?? '');
      if (texts.length) return texts.join('\n');
      if (m.content.some((p: { type?: string }) => p?.type === 'tool_result')) continue;
    }
  }
  return '';
}

/** The default answer: deterministic, derived from the last user message. */
export function echoText(userText: string): string {
  return `Echo: ${userText.trim() || '(nothing)'}`;
}

export const estimateTokens = (value: unknown): number => Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));

export function chunk(text: string, size: number): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export function buildPlan(step: Step, model: string, messages: unknown, requestForTokens: unknown): Plan {
  const size = step.chunkSize ?? 8;
  const text = step.text ?? (step.toolCall ? '' : echoText(lastUserText(messages)));
  const textChunks = chunk(text, size);
  let toolCall: Plan['toolCall'];
  if (step.toolCall) {
    const json = JSON.stringify(step.toolCall.arguments);
    toolCall = {
      id: step.toolCall.id ?? `call_${createHash('sha256').update(json + step.toolCall.name).digest('hex').slice(0, 16)}`,
      name: step.toolCall.name,
      arguments: step.toolCall.arguments,
      argChunks: chunk(json, Math.max(4, Math.ceil(json.length / 3))),
    };
  }
  const output = Math.max(1, Math.ceil((text.length + (step.thinking?.length ?? 0) + (toolCall ? JSON.stringify(toolCall.arguments).length : 0)) / 4));
  return {
    model: step.model ?? model,
    ...(step.thinking ? { thinking: step.thinking } : {}),
    textChunks,
    ...(toolCall ? { toolCall } : {}),
    usage: {
      input: step.usage?.input ?? estimateTokens(requestForTokens),
      output: step.usage?.output ?? output,
      cacheRead: step.usage?.cacheRead ?? 0,
      cacheWrite: step.usage?.cacheWrite ?? 0,
    },
    ...(step.finishReason ? { finishReason: step.finishReason } : {}),
  };
}

/** A deterministic embedding: hashed bag of words, L2-normalised, so texts sharing words are close. */
export function fakeEmbedding(text: string, dimensions = 256): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = createHash('sha256').update(word).digest();
    v[h.readUInt32BE(0) % dimensions]! += 1;
    v[h.readUInt32BE(4) % dimensions]! += 0.5;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FrameOptions {
  step: Step;
  /** A frame that cannot be parsed, in this format. */
  garbage: string;
  /** The frame of a mid-stream error, in this format. */
  midStreamError?: (kind: 'overloaded' | 'server') => string;
}

export interface SimulatorOptions {
  /** When set, requests whose key differs are refused with 401 (the provider's own format). */
  apiKey?: string;
  /** A chat request estimated above this many tokens gets the provider's context-length error. */
  contextLimitTokens?: number;
  /** Dimensions of the fake embeddings. */
  embeddingDimensions?: number;
}

export interface Route {
  method: string;
  /** Path relative to the simulator's prefix, e.g. '/chat/completions'. */
  path: string;
  kind: RecordedRequest['kind'];
  handle: (ctx: HandlerContext) => Promise<void>;
}

export interface HandlerContext {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  body: unknown;
  step: Step;
  sim: SimulatorCore;
}

/**
 * The server, the request log and the script. Provider files add routes and
 * implement errors and frames.
 */
export abstract class SimulatorCore {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: Step[] = [];
  private defaultStep: StepFn = () => ({});
  private persistentError: SimErrorKind | null = null;
  private server: http.Server | undefined;
  private port = 0;
  protected abstract readonly prefix: string;
  protected abstract routes(): Route[];
  /** Writes an error in the provider's own format. */
  abstract writeError(res: ServerResponse, kind: SimErrorKind, step: Step): void;
  /** The key the request carried (for the optional key check). */
  protected abstract requestKey(req: IncomingMessage): string | undefined;

  constructor(readonly options: SimulatorOptions = {}) {}

  /** The base URL to configure the SDK with (what the provider's *_BASE_URL would be). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${this.prefix}`;
  }

  /** What the provider's base-URL setting should be for its SDK (Anthropic's and Ollama's omit the path). */
  get configBaseUrl(): string {
    return this.baseUrl;
  }

  /** The server's origin, without the API prefix. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Queues steps; each answers one request of its kind (`on`, default chat), in order. */
  script(...steps: Step[]): this {
    this.queue.push(...steps);
    return this;
  }

  /** What requests get once the script is used up. */
  setDefault(step: Step | StepFn): this {
    this.defaultStep = typeof step === 'function' ? step : () => step;
    return this;
  }

  /** Every request fails with this error until cleared with null (a provider that is down). */
  failAll(kind: SimErrorKind | null): this {
    this.persistentError = kind;
    return this;
  }

  /** Clears the script, the default, the failure and the log. */
  reset(): this {
    this.queue.length = 0;
    this.requests.length = 0;
    this.defaultStep = () => ({});
    this.persistentError = null;
    return this;
  }

  chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.kind === 'chat');
  }

  lastChatBody<T = Record<string, unknown>>(): T {
    const last = this.chatRequests().at(-1);
    if (!last) throw new Error('the simulator has received no chat request');
    return last.body as T;
  }

  pendingSteps(): number {
    return this.queue.length;
  }

  private takeStep(kind: RecordedRequest['kind'], record: RecordedRequest): Step {
    const i = this.queue.findIndex((s) => (s.on ?? 'chat') === kind);
    if (i >= 0) return this.queue.splice(i, 1)[0]!;
    return kind === 'chat' ? this.defaultStep(record) : {};
  }

  /** Listens on `port` (default: any free one; a fixed one lets a killed model come back at the same address). */
  async start(port = 0): Promise<this> {
    const routes = this.routes();
    this.server = http.createServer((req, res) => {
      void this.dispatch(routes, req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${(err as Error).message}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async dispatch(routes: Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const rel = url.pathname.startsWith(this.prefix) ? url.pathname.slice(this.prefix.length) || '/' : null;
    const route = rel === null ? undefined : routes.find((r) => r.method === req.method && r.path === rel);
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: { ...req.headers },
      body,
      kind: route?.kind ?? 'other',
      clientClosed: false,
      completed: false,
      at: Date.now(),
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
    });
    res.on('finish', () => {
      record.completed = true;
    });
    if (!route) {
      this.writeError(res, 'not_found', {});
      return;
    }
    const step = this.takeStep(route.kind, record);
    if (step.delayMs) await sleep(step.delayMs);
    if (this.options.apiKey !== undefined && this.requestKey(req) !== this.options.apiKey) {
      this.writeError(res, 'auth', step);
      return;
    }
    const failure = step.error ?? this.persistentError;
    if (failure) {
      this.writeError(res, failure, step);
      return;
    }
    if (route.kind === 'chat' && this.options.contextLimitTokens && estimateTokens(body) > this.options.contextLimitTokens) {
      this.writeError(res, 'context_length', step);
      return;
    }
    await route.handle({ req, res, record, body, step, sim: this });
  }

  /** Writes frames with the step's pacing, stall, malformed and mid-stream error behaviour. */
  async writeFrames(res: ServerResponse, frames: string[], options: FrameOptions): Promise<void> {
    const { step } = options;
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      if (step.stallAfterFrames !== undefined && i === step.stallAfterFrames) {
        await new Promise<void>((resolve) => res.once('close', () => resolve()));
        return;
      }
      if (step.malformedAfterFrames !== undefined && i === step.malformedAfterFrames) {
        res.end(options.garbage);
        return;
      }
      if (step.midStreamError && options.midStreamError && i === (step.errorAfterFrames ?? 1)) {
        res.end(options.midStreamError(step.midStreamError));
        return;
      }
      if (i > 0 && step.frameDelayMs) await sleep(step.frameDelayMs);
      res.write(frames[i]);
    }
    res.end();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return typeof h === 'string' ? h.replace(/^Bearer\s+/i, '') : undefined;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
