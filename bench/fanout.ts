/**
 * Live fan-out: from an answer's delta being produced to its arrival at
 * 1, 100 and 1,000 sockets following the conversation, and the deltas per
 * second one replica sustains. Prints figures; asserts nothing.
 *
 * Two processes, as with two replicas: this one produces the deltas the
 * way the answering path does (ConversationBus.publish: the Lua script
 * that updates the live snapshot and publishes) and holds the client
 * sockets; a gateway process (bench/fanout/gateway.ts, the real
 * startMosaic) holds the server side of the sockets. Produced and arrival
 * times come from this process's clock. Needs Valkey at VALKEY_URL
 * (default redis://127.0.0.1:6379). `node bin/run-ts.js bench/fanout.ts`;
 * BENCH_PROFILE_DIR=<dir> also writes a CPU profile of the gateway there;
 * BENCH_SOCKETS=1000 runs one size; BENCH_LATENCY_ONLY=1 skips the throughput runs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ConversationBus } from '../src/conversations/conversation-bus.ts';
import { connectValkey } from '../src/valkey/client.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const prefix = `bench-fanout-${randomBytes(3).toString('hex')}`;
const LATENCY_DELTAS = 150;
/** One streaming answer publishes at most one delta per conversations.deltaIntervalMs (50 ms by default). */
const LATENCY_INTERVAL_MS = 50;
const THROUGHPUT_DELTAS = 4000;
const WINDOW = 64;

const gateway = spawn(process.execPath, [...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), path.resolve(here, '..', 'bin', 'run-ts.js'), path.join(here, 'fanout', 'gateway.ts'), prefix], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: gateway.stdout! })[Symbol.asyncIterator]();
gateway.once('exit', (code) => {
  if (code) console.error(`the gateway exited with ${code}`);
});
const nextLine = async () => (await lines.next()).value as string;
const { url, token, conversationId } = JSON.parse(await nextLine()) as { url: string; token: string; conversationId: string };
/** The replica's side, per delta since the last report: produced → written to every socket, and arrived → written. */
async function replicaSamples(): Promise<{ written: number[]; inside: number[] }> {
  gateway.stdin!.write('report\n');
  return JSON.parse(await nextLine()) as { written: number[]; inside: number[] };
}

const valkeyUrl = process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379';
const publisher = await connectValkey(valkeyUrl);
const subscriber = await connectValkey(valkeyUrl);
const bus = new ConversationBus(publisher, subscriber, prefix);
const replyId = '00000000-0000-4000-8000-00000000b001';

/** Per delta seq: how many sockets have it; each arrival's latency goes to `latencies`. */
let arrivals = new Map<number, number>();
let latencies: number[] = [];
let allArrived: number[] = [];
let onProgress: (() => void) | null = null;
const sockets: WebSocket[] = [];

function onFrame(data: WebSocket.RawData): void {
  const at = now();
  const text = data.toString();
  if (!text.startsWith('{"type":"answer:delta"')) return;
  // Cheap field reads: a JSON.parse per frame on 1,000 sockets would be the client's cost, not the server's.
  const seq = Number(/"seq":(\d+)/.exec(text)![1]);
  const produced = Number(/"text":"([\d.]+)"/.exec(text)![1]);
  latencies.push(at - produced);
  const n = (arrivals.get(seq) ?? 0) + 1;
  arrivals.set(seq, n);
  if (n === sockets.length) {
    allArrived.push(at - produced);
    arrivals.delete(seq);
    onProgress?.();
  }
}

async function openSockets(n: number): Promise<void> {
  while (sockets.length < n) {
    const batch = Array.from({ length: Math.min(50, n - sockets.length) }, async () => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/socket`, { headers: { authorization: `Bearer ${token}` } });
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data) => {
          if (String(data).includes('"for":"subscribe"')) {
            ws.removeAllListeners('message');
            ws.on('message', onFrame);
            resolve();
          }
        });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', conversationId })));
      });
      return ws;
    });
    sockets.push(...(await Promise.all(batch)));
  }
}

let seq = 0;
/** The text carries when the delta was produced, as epoch ms with µs: this process and the replica read it on one clock. */
const now = () => performance.timeOrigin + performance.now();
const publishDelta = () => bus.publish({ type: 'answer:delta', conversationId, replyId, seq: ++seq, step: 0, text: now().toFixed(4) });

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function latency(n: number): Promise<void> {
  latencies = [];
  allArrived = [];
  arrivals = new Map();
  for (let i = 0; i < LATENCY_DELTAS; i++) {
    await publishDelta();
    await new Promise((r) => setTimeout(r, LATENCY_INTERVAL_MS));
  }
  await new Promise((r) => setTimeout(r, 500));
  const replica = await replicaSamples();
  console.log(`${String(n).padStart(5)} sockets`);
  console.log(`        at the replica, produced → written to every socket:  p50 ${ms(q(replica.written, 0.5))}  p99 ${ms(q(replica.written, 0.99))}  (${replica.written.length} deltas)`);
  console.log(`        inside the replica, arrived → written to every socket: p50 ${ms(q(replica.inside, 0.5))}  p99 ${ms(q(replica.inside, 0.99))}`);
  console.log(`        at the clients, produced → read by a socket:          p50 ${ms(q(latencies, 0.5))}  p99 ${ms(q(latencies, 0.99))}  (${latencies.length} arrivals)`);
  console.log(`        at the clients, produced → read by every socket:      p50 ${ms(q(allArrived, 0.5))}  p99 ${ms(q(allArrived, 0.99))}  (${allArrived.length}/${LATENCY_DELTAS} deltas)`);
}

/** As fast as the replica delivers: at most WINDOW deltas not yet at every socket. */
async function throughput(n: number): Promise<void> {
  allArrived = [];
  arrivals = new Map();
  let published = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (published < THROUGHPUT_DELTAS && published - allArrived.length < WINDOW) {
        published += 1;
        void publishDelta();
      }
      if (allArrived.length >= THROUGHPUT_DELTAS) resolve();
    };
    onProgress = pump;
    pump();
  });
  onProgress = null;
  const seconds = (performance.now() - start) / 1000;
  const rate = THROUGHPUT_DELTAS / seconds;
  await replicaSamples();
  console.log(`${String(n).padStart(5)} sockets  sustained: ${Math.round(rate)} deltas/s (${Math.round(rate * n)} frames/s sent), delta → every socket p50 ${ms(q(allArrived, 0.5))} p99 ${ms(q(allArrived, 0.99))}`);
}

/** Ends the run early (BENCH_LATENCY_ONLY). */
class Done extends Error {}

try {
  await bus.publish({ type: 'answer:started', conversationId, replyId, replyTo: replyId, agentId: null, provider: 'bench', model: 'bench', routing: null, seq: 0 });
  console.log(`latency at ${1000 / LATENCY_INTERVAL_MS} deltas/s (one streaming answer), ${LATENCY_DELTAS} deltas per run:`);
  const sizes = (process.env.BENCH_SOCKETS ?? '1,100,1000').split(',').map(Number);
  for (const n of sizes) {
    await openSockets(n);
    await latency(n);
  }
  if (process.env.BENCH_LATENCY_ONLY) throw new Done();
  console.log(`throughput: ${THROUGHPUT_DELTAS} deltas, at most ${WINDOW} in flight:`);
  for (const n of [...sizes].reverse()) {
    for (const ws of sockets.splice(n)) ws.terminate();
    await throughput(n);
  }
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  for (const ws of sockets) ws.terminate();
  await bus.publish({ type: 'answer:stopped', conversationId, replyId, replyTo: replyId }).catch(() => undefined);
  publisher.disconnect();
  subscriber.disconnect();
  gateway.stdin!.end();
  await new Promise((r) => gateway.once('exit', r));
}
