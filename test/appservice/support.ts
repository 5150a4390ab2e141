/**
 * The Matrix channel end to end: the test homeserver (spec-checked, humans
 * through matrix-js-sdk) and the real gateway with the matrix plugin, on a
 * fixed appservice port so a restart is reached at the same URL.
 */
import { createServer } from 'node:net';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { channelIdentities } from '../../src/db/schema.ts';
import { matrixPlugin } from '../../appservice/matrix-plugin.ts';
import type { MatrixAdapter } from '../../appservice/matrix-adapter.ts';
import type { ProcessorFaults } from '../../appservice/transport/event-processor.ts';
import { generateRegistration, type Registration } from '../../appservice/transport/registration.ts';
import { TestHomeserver, type Human, type SyncedEvent, type TestHomeserverOptions } from '../homeserver/index.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

export const SERVER = 'test.local';
export const CODER_ID = 'a9e70000-0000-4000-8000-000000000002';
export const ASSISTANT_ID = 'a9e70000-0000-4000-8000-000000000001';
export const ghostOf = (agentId: string) => `@mosaic_agent_${agentId}:${SERVER}`;
export const BOT = `@mosaic-bot:${SERVER}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

export interface MatrixWorld {
  hs: TestHomeserver;
  mosaic: TestMosaic;
  registration: Registration;
  faults: ProcessorFaults;
  adapter(): MatrixAdapter;
  /** Runs at each boot (start and restart), after the previous gateway stopped and before the new one starts. */
  beforeBoot: (() => void) | null;
  /**
   * A second gateway with the matrix plugin on the same database, Valkey and
   * registration (the homeserver keeps pushing to the first one's URL; the
   * replica listens on a port of its own). Stopped with the world.
   */
  replica(): Promise<MatrixReplica>;
  /** A human on the homeserver whose Matrix id is linked to a new Mosaic account. */
  linkedHuman(name: string): Promise<Human & { mosaicUserId: string; token: string }>;
  stop(): Promise<void>;
}

export interface MatrixReplica {
  mosaic: TestMosaic;
  adapter(): MatrixAdapter;
}

export interface MatrixWorldOptions {
  matrix?: Record<string, unknown>;
  /** Test homeserver settings (e.g. `rateLimit: false` for tests whose humans write a lot). */
  homeserver?: Pick<TestHomeserverOptions, 'rateLimit'>;
  /** Other config sections, merged over the harness's (e.g. `http: { publicUrl }`). */
  config?: Record<string, unknown>;
  logDestination?: NodeJS.WritableStream;
  sweepIntervalMs?: number;
  recovery?: { intervalMs?: number; graceMs?: number };
  /** Serve the web client at / (the browser tests). */
  webClient?: boolean;
}

export async function startMatrixWorld(options: MatrixWorldOptions = {}): Promise<MatrixWorld> {
  // The port is chosen before it is listened on; another test file may take it in between (files run in parallel).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMatrixWorldOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/cannot listen on/.test((err as Error).message)) throw err;
    }
  }
}

async function startMatrixWorldOnce(options: MatrixWorldOptions): Promise<MatrixWorld> {
  const port = await freePort();
  const registration = generateRegistration(parseConfig({ matrix: { serverName: SERVER, port, host: '127.0.0.1' } }));
  const hs = await TestHomeserver.start({ serverName: SERVER, registration, push: { retryInitialMs: 20, retryMaxMs: 200 }, ...options.homeserver });
  const faults: ProcessorFaults = {};
  let adapter: MatrixAdapter | null = null;
  const hooks: { beforeBoot: (() => void) | null } = { beforeBoot: null };
  const replicas: TestMosaic[] = [];
  const plugin = (onStarted: (a: MatrixAdapter) => void, pluginFaults: ProcessorFaults = {}) =>
    matrixPlugin({
      registration,
      faults: pluginFaults,
      sweepIntervalMs: options.sweepIntervalMs ?? 300,
      clientRetry: { baseDelayMs: 20, maxDelayMs: 200 },
      ...(options.recovery ? { recovery: options.recovery } : {}),
      onStarted,
    });
  const mosaic = await startTestMosaic({
    plugins: () => {
      hooks.beforeBoot?.();
      return [plugin((a) => (adapter = a), faults)];
    },
    config: { ...options.config, matrix: { enabled: true, homeserverUrl: hs.url, serverName: SERVER, host: '127.0.0.1', port, editIntervalMs: 40, ...options.matrix } },
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    ...(options.webClient ? { webClient: true } : {}),
  }).catch(async (err: unknown) => {
    await hs.stop();
    throw err;
  });
  return {
    hs,
    mosaic,
    registration,
    faults,
    adapter: () => adapter!,
    get beforeBoot() {
      return hooks.beforeBoot;
    },
    set beforeBoot(fn) {
      hooks.beforeBoot = fn;
    },
    async replica() {
      let replicaAdapter: MatrixAdapter | null = null;
      const replica = await startTestMosaic({
        replicaOf: mosaic,
        config: { matrix: { port: await freePort() } },
        plugins: () => [plugin((a) => (replicaAdapter = a))],
      });
      replicas.push(replica);
      return { mosaic: replica, adapter: () => replicaAdapter! };
    },
    async linkedHuman(name) {
      const human = await hs.createHuman(name, { displayname: name[0]!.toUpperCase() + name.slice(1) });
      const { actor, token } = await mosaic.createUser(name);
      await mosaic.core.database.db.insert(channelIdentities).values({ channel: 'matrix', channelUserId: human.userId, userId: actor.userId });
      return Object.assign(human, { mosaicUserId: actor.userId, token });
    },
    async stop() {
      for (const r of replicas) await r.stop();
      await mosaic.stop();
      await hs.stop();
    },
  };
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const relType = (e: SyncedEvent) => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type;

/** The final state of an answer: the original event and the last edit's new content. */
export function answerIn(events: SyncedEvent[], ghost: string): Array<{ original: SyncedEvent; text: string; edits: SyncedEvent[]; finalContent: Record<string, unknown> }> {
  const originals = events.filter((e) => e.type === 'm.room.message' && e.sender === ghost && relType(e) !== 'm.replace' && e.content.msgtype === 'm.text');
  return originals.map((original) => {
    const edits = events.filter((e) => e.sender === ghost && relType(e) === 'm.replace' && (e.content['m.relates_to'] as { event_id: string }).event_id === original.event_id);
    const last = edits.at(-1);
    const finalContent = (last ? last.content['m.new_content'] : original.content) as Record<string, unknown>;
    return { original, text: String(finalContent.body), edits, finalContent };
  });
}

/** Waits until the human sees a finished answer (one carrying mosaic.routing) from `ghost`, after `after`. */
export async function waitForAnswer(human: Human, roomId: string, ghost: string, after?: string): Promise<SyncedEvent> {
  return human.waitForEvent(
    roomId,
    (e) => e.sender === ghost && e.type === 'm.room.message' && e.content['mosaic.routing'] !== undefined,
    { timeoutMs: 20_000, ...(after ? { after } : {}) },
  );
}

export async function inviteAgent(world: MatrixWorld, human: Human, agentId: string, opts: { invite?: string[] } = {}): Promise<string> {
  const ghost = ghostOf(agentId);
  const { room_id } = await human.client.createRoom({ invite: [ghost, ...(opts.invite ?? [])] } as never);
  await human.waitForEvent(room_id, (e) => e.type === 'm.room.member' && e.sender === ghost && e.content.membership === 'join');
  await until('the room to become a conversation', async () => (await world.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq }) => eq(r.roomId, room_id) })) ?? null);
  return room_id;
}

export function expectNoDuplicates(events: SyncedEvent[]): void {
  const ids = events.map((e) => e.event_id);
  expect(new Set(ids).size).toBe(ids.length);
}

/** Sends a text and waits until the human's own sync has it, so later waits can start after it. */
export async function say(human: Human, roomId: string, text: string): Promise<string> {
  const { event_id } = await human.client.sendTextMessage(roomId, text);
  await human.waitForEvent(roomId, (e) => e.event_id === event_id);
  return event_id;
}
