/**
 * Structured logs (pino): JSON for machines, or readable lines when a person
 * watches a terminal (`terminalDestination`). Anything that looks like a
 * credential is redacted wherever it appears in a log object, and a failed
 * database statement is logged as its operation and SQLSTATE only: never its
 * parameters (password hashes, message text, titles) nor the database's
 * message and detail, which quote the values.
 */
import { pino, stdSerializers, type Logger } from 'pino';
import { databaseFailure, describeDatabaseFailure } from './errors.ts';

export type { Logger };

const SECRET_FIELDS = [
  'password', 'token', 'apiKey', 'api_key', 'accessToken', 'access_token', 'refreshToken', 'refresh_token',
  'authorization', 'secret', 'as_token', 'hs_token', 'asToken', 'hsToken', 'key', 'ciphertext', 'cookie',
];
const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'headers.authorization',
  'config.database.url',
  'config.valkey.url',
];

/** Error causes followed when serialising (a cycle or a deep chain stops here). */
const MAX_CAUSES = 5;

/** pino's error serialiser, with database failures reduced to what may be logged. */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const db = databaseFailure(err);
  if (db) {
    const message = describeDatabaseFailure(db);
    return { type: 'DatabaseError', message, ...db, stack: `DatabaseError: ${message}\n${(err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).join('\n')}` };
  }
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  if (err.cause !== undefined) out.cause = depth < MAX_CAUSES ? serializeError(err.cause, depth + 1) : '[cause chain cut]';
  return out;
}

/** Drizzle's message `Failed query: … params: …` logged as a plain string (`err: e.message`): cut at the parameters. */
const PARAMS_MARK = '\nparams: ';
function scrubText(value: unknown): unknown {
  if (typeof value !== 'string' || !value.includes(PARAMS_MARK)) return value;
  return `${value.slice(0, value.indexOf(PARAMS_MARK))} [parameters not logged]`;
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'mosaic' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError, cause: serializeError },
    formatters: {
      log: (obj: Record<string, unknown>) => {
        for (const key of Object.keys(obj)) obj[key] = scrubText(obj[key]);
        return obj;
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/**
 * Readable log lines for a terminal (pino-pretty, in this process: no worker
 * thread to outlive a crash). JSON stays the format everywhere else, so log
 * collectors never see colours.
 */
export async function terminalDestination(stream: NodeJS.WritableStream = process.stdout): Promise<NodeJS.WritableStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ destination: stream as never, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', sync: true });
}

/** Removes credentials embedded in a URL (postgres://user:pass@host). */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
