/**
 * Counts what a piece of work costs in deterministic units: SQL round trips
 * (the database's own counter) and Redis commands (every ioredis client in
 * this process, BullMQ's included). Timings are never asserted; counts are.
 */
import { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';

export interface RedisCommand {
  name: string;
  /** The first key or channel, when there is one (what the command touched). */
  key: string;
}

type SendCommand = (command: { name: string; args: unknown[] }, stream?: unknown) => unknown;

let recording: RedisCommand[] | null = null;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as { sendCommand: SendCommand };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: Redis, command, stream) {
    if (recording) {
      const name = String(command.name).toLowerCase();
      const args = command.args;
      // eval/evalsha name their first key after the script and key count.
      const keyAt = name === 'eval' || name === 'evalsha' ? 2 : 0;
      recording.push({ name, key: args.length > keyAt ? String(args[keyAt]) : '' });
    }
    return send.call(this, command, stream);
  };
}

/**
 * Commands the background of an idle process sends on its own clock (BullMQ
 * workers waiting on their queues, stalled-job checks, lease renewals): not
 * part of any one turn, so a turn's count leaves them out.
 */
const BACKGROUND = new Set(['bzpopmin', 'client', 'info', 'ping']);

export interface Measure {
  sql: number;
  redis: RedisCommand[];
}

/** Runs `work` and returns the SQL round trips and Redis commands it cost. */
export async function measure(database: Database, work: () => Promise<unknown>, options: { ignoreKeys?: RegExp } = {}): Promise<Measure> {
  install();
  const redis: RedisCommand[] = [];
  const before = database.roundTrips();
  recording = redis;
  try {
    await work();
  } finally {
    recording = null;
  }
  const sql = database.roundTrips() - before;
  return { sql, redis: redis.filter((c) => !BACKGROUND.has(c.name) && !(options.ignoreKeys?.test(c.key) ?? false)) };
}

/** `{ evalsha: 4, publish: 3 }`: a count's make-up, for a failing assertion's message. */
export function tally(commands: RedisCommand[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of commands) out[c.name] = (out[c.name] ?? 0) + 1;
  return out;
}
