/**
 * What Mosaic adds to a chat turn, side by side in one run: (A) the OpenAI
 * SDK straight to a local stub model that answers at once, and (B) the same
 * turn through Mosaic (REST `POST …/messages?wait=true`, routed to that
 * stub), on PostgreSQL and on PGlite. Prints sequential p50/p99 (A and B
 * interleaved), 20 conversations at once (turns/s, p50/p99), and the SQL
 * round trips and Redis commands per turn. Asserts nothing.
 *
 *   node bin/run-ts.js bench/turn-overhead.ts [turns]   (default 200 sequential turns)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import OpenAI from 'openai';
import { startTestMosaic, type TestMosaic } from '../test/support/mosaic-harness.ts';
import { measure } from '../test/support/command-count.ts';

process.env.MOSAIC_TEST_RUN ??= `bench${randomBytes(3).toString('hex')}`;
const SEQUENTIAL = Number(process.argv[2] ?? 200);
const CONCURRENT = 20;
const CONCURRENT_TURNS_EACH = 15;
const ADMIN_PG_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function bench(database: 'postgres' | 'pglite'): Promise<void> {
  const t: TestMosaic = await startTestMosaic({ database, providers: ['openai'], config: { log: { level: 'silent' }, jobs: { stalledIntervalMs: 600_000 } } });
  try {
    const sim = t.simulators.openai;
    const sdk = new OpenAI({ apiKey: sim.options.apiKey ?? 'sk-sim-test-key', baseURL: sim.configBaseUrl, maxRetries: 0 });
    const { token } = await t.createUser('bench');
    const newConversation = async () => (await t.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'bench' })).body.id;
    const through = async (conversationId: string, content: string) => {
      // A keep-alive connection the server closes just as it is reused resets the request; the clientMessageId makes a retry the same message.
      const body = { content, clientMessageId: randomBytes(8).toString('hex') };
      const send = () => t.api<{ reply: { content: string } | null }>(token, 'POST', `/api/conversations/${conversationId}/messages?wait=true`, body);
      const res = await send().catch(send);
      if (res.status !== 200 || !res.body.reply) throw new Error(`turn failed: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    };
    const direct = async (content: string) => {
      await sdk.chat.completions.create({ model: 'gpt-6-sol', messages: [{ role: 'user', content }] });
    };

    // Warm both paths (connections, JIT, the session and caches).
    const seqConv = await newConversation();
    for (let i = 0; i < 10; i++) {
      await direct(`warm ${i}`);
      await through(seqConv, `warm ${i}`);
    }

    // Sequential, interleaved: every B turn in a fresh conversation would add its creation; one conversation is a chat.
    // A long history costs the context window, so the sequential conversation is renewed every 50 turns.
    const a: number[] = [];
    const b: number[] = [];
    let conv = await newConversation();
    const startTrips = t.core.database.roundTrips();
    let redisCommands = 0;
    for (let i = 0; i < SEQUENTIAL; i++) {
      if (i > 0 && i % 50 === 0) conv = await newConversation();
      a.push(await timed(() => direct(`question ${i}`)));
      const m = await measure(t.core.database, async () => b.push(await timed(() => through(conv, `question ${i}`))));
      redisCommands += m.redis.length;
    }
    const trips = (t.core.database.roundTrips() - startTrips) / SEQUENTIAL;

    // 20 conversations at once, each a chat of several turns.
    const convs = await Promise.all(Array.from({ length: CONCURRENT }, () => newConversation()));
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    await Promise.all(
      convs.map(async (id, c) => {
        for (let i = 0; i < CONCURRENT_TURNS_EACH; i++) lat.push(await timed(() => through(id, `c${c} q${i}`)));
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const directLat: number[] = [];
    const d0 = process.hrtime.bigint();
    await Promise.all(
      convs.map(async (_, c) => {
        for (let i = 0; i < CONCURRENT_TURNS_EACH; i++) directLat.push(await timed(() => direct(`c${c} q${i}`)));
      }),
    );
    const directSeconds = Number(process.hrtime.bigint() - d0) / 1e9;
    const turns = CONCURRENT * CONCURRENT_TURNS_EACH;

    console.log(`\n${database} (${SEQUENTIAL} sequential turns each way, interleaved)`);
    console.log(`  A  SDK straight to the stub      p50 ${ms(pct(a, 50))}   p99 ${ms(pct(a, 99))}`);
    console.log(`  B  through Mosaic (REST wait)    p50 ${ms(pct(b, 50))}   p99 ${ms(pct(b, 99))}`);
    console.log(`     added by Mosaic               p50 +${ms(pct(b, 50) - pct(a, 50))}   p99 +${ms(pct(b, 99) - pct(a, 99))}`);
    console.log(`  per turn: ${trips.toFixed(1)} SQL round trips, ${(redisCommands / SEQUENTIAL).toFixed(1)} Redis commands (request to reply; the job's last commands may fall after it)`);
    console.log(`  ${CONCURRENT} conversations at once, ${turns} turns:`);
    console.log(`     A  ${(turns / directSeconds).toFixed(0)} turns/s   p50 ${ms(pct(directLat, 50))}   p99 ${ms(pct(directLat, 99))}`);
    console.log(`     B  ${(turns / seconds).toFixed(0)} turns/s   p50 ${ms(pct(lat, 50))}   p99 ${ms(pct(lat, 99))}`);
  } finally {
    const url = database === 'postgres' ? t.config.database.url : undefined;
    await t.stop();
    await t.core.valkey.quit().catch(() => undefined);
    if (url) {
      const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
      await admin.connect();
      await admin.query(`drop database if exists "${new URL(url).pathname.slice(1)}" with (force)`).catch(() => undefined);
      await admin.end();
    }
  }
}

console.log(`turn overhead: node ${process.version}, stub model answers at once; every millisecond above A is the gateway's`);
await bench('postgres');
await bench('pglite');
process.exit(0);
