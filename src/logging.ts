/**
 * Structured JSON logs (pino). Anything that looks like a credential is
 * redacted wherever it appears in a log object.
 */
import { pino, type Logger } from 'pino';

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

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'mosaic' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
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
