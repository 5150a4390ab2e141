/**
 * Matrix intake: transactions of 100 `m.room.message` events pushed to
 * Mosaic's appservice listener (1 and 4 transactions in flight) beside a
 * bare Node listener that only parses the same payloads. Prints events/s
 * acknowledged (the 200s) and, for Mosaic, processed (every event's
 * journal row finished). Traffic is unmapped: rooms Mosaic is not in, from
 * senders it does not know, spread over 20 rooms. PostgreSQL. Asserts nothing.
 *
 *   node bin/run-ts.js bench/matrix-intake.ts [transactions]   (default 40 per run)
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { and, eq, ne, sql } from 'drizzle-orm';
import { parseConfig } from '../src/config/load.ts';
import { appserviceEvents } from '../src/db/schema.ts';
import { matrixPlugin } from '../appservice/matrix-plugin.ts';
import { generateRegistration } from '../appservice/transport/registration.ts';
import { TestHomeserver } from '../test/homeserver/index.ts';
import { startTestMosaic } from '../test/support/mosaic-harness.ts';

process.env.MOSAIC_TEST_RUN ??= `bench${randomBytes(3).toString('hex')}`;
const TRANSACTIONS = Number(process.argv[2] ?? 40);
const EVENTS = 100;
const ROOMS = 20;
const SERVER = 'bench.local';
const ADMIN_PG_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let serial = 0;
function transaction(run: string): string {
  const base = Date.now();
  const events = Array.from({ length: EVENTS }, (_, i) => {
    const n = serial++;
    return {
      event_id: `$${run}-${n}`,
      room_id: `!room${n % ROOMS}-${run}:${SERVER}`,
      type: 'm.room.message',
      sender: `@someone${n % 7}:${SERVER}`,
      origin_server_ts: base + i,
      content: { msgtype: 'm.text', body: `message ${n} in a room Mosaic is not in` },
    };
  });
  return JSON.stringify({ events });
}

/** PUTs `count` transactions, `inFlight` at a time; resolves with the seconds until the last 200. */
async function push(url: (txn: string) => string, token: string, bodies: string[], inFlight: number): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const res = await fetch(url(`bench-${i}-${randomBytes(4).toString('hex')}`), { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: bodies[i] });
        if (res.status !== 200) throw new Error(`transaction ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const rate = (events: number, seconds: number) => `${Math.round(events / seconds).toLocaleString('en-US').padStart(7)} events/s`;

// The bare listener: read the body, parse it, answer {}.
const bare = createHttpServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const barePort = (bare.address() as AddressInfo).port;

const port = await freePort();
const registration = generateRegistration(parseConfig({ matrix: { serverName: SERVER, port, host: '127.0.0.1' } }));
const hs = await TestHomeserver.start({ serverName: SERVER, registration, rateLimit: false });
const mosaic = await startTestMosaic({
  providers: ['ollama'],
  plugins: () => [matrixPlugin({ registration, sweepIntervalMs: 60_000, onStarted: () => undefined })],
  config: { matrix: { enabled: true, homeserverUrl: hs.url, serverName: SERVER, host: '127.0.0.1', port } },
});
const db = mosaic.core.database.db;
const pending = async (run: string) =>
  Number(((await db.select({ n: sql<number>`count(*)::int` }).from(appserviceEvents).where(and(eq(appserviceEvents.status, 'pending'), sql`${appserviceEvents.eventId} like ${`$${run}-%`}`)))[0]?.n) ?? 0);
const finished = async (run: string) =>
  Number(((await db.select({ n: sql<number>`count(*)::int` }).from(appserviceEvents).where(and(ne(appserviceEvents.status, 'pending'), sql`${appserviceEvents.eventId} like ${`$${run}-%`}`)))[0]?.n) ?? 0);

console.log(`matrix intake: ${TRANSACTIONS} transactions of ${EVENTS} events per run, ${ROOMS} rooms, unmapped traffic, PostgreSQL, node ${process.version}`);
try {
  // Warm up both listeners.
  await push((txn) => `http://127.0.0.1:${barePort}/_matrix/app/v1/transactions/${txn}`, registration.hs_token, [transaction('warmb')], 1);
  await push((txn) => `http://127.0.0.1:${port}/_matrix/app/v1/transactions/${txn}`, registration.hs_token, [transaction('warm')], 1);
  for (const inFlight of [1, 4]) {
    const bodies = Array.from({ length: TRANSACTIONS }, () => transaction(`bare${inFlight}`));
    const bareSeconds = await push((txn) => `http://127.0.0.1:${barePort}/_matrix/app/v1/transactions/${txn}`, registration.hs_token, bodies, inFlight);

    const run = `m${inFlight}${randomBytes(2).toString('hex')}`;
    const mine = Array.from({ length: TRANSACTIONS }, () => transaction(run));
    const t0 = process.hrtime.bigint();
    const ackSeconds = await push((txn) => `http://127.0.0.1:${port}/_matrix/app/v1/transactions/${txn}`, registration.hs_token, mine, inFlight);
    const total = TRANSACTIONS * EVENTS;
    while ((await finished(run)) < total) {
      if (Number(process.hrtime.bigint() - t0) / 1e9 > 600) throw new Error(`only ${await finished(run)} of ${total} processed after 10 minutes (${await pending(run)} pending)`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const processedSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`\n${inFlight} transaction(s) in flight, ${total.toLocaleString('en-US')} events`);
    console.log(`  bare listener   acknowledged ${rate(total, bareSeconds)}`);
    console.log(`  Mosaic          acknowledged ${rate(total, ackSeconds)}   processed ${rate(total, processedSeconds)}`);
  }
} finally {
  const url = mosaic.config.database.url;
  await mosaic.stop();
  await hs.stop();
  bare.close();
  if (url) {
    const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${new URL(url).pathname.slice(1)}" with (force)`).catch(() => undefined);
    await admin.end();
  }
}
process.exit(0);
