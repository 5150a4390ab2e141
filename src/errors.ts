/**
 * The one error type of Mosaic. Every failure a person can see carries a
 * stable `code`, the HTTP status an API answers with, whether retrying can
 * help, and `userNotice`: the sentence shown in a chat or terminal.
 */
export interface MosaicErrorOptions {
  httpStatus?: number;
  retryable?: boolean;
  userNotice?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class MosaicError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly userNotice: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: MosaicErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MosaicError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? 500;
    this.retryable = options.retryable ?? false;
    this.userNotice = options.userNotice ?? message;
    this.details = options.details;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>): MosaicError =>
  new MosaicError('bad_request', message, { httpStatus: 400, ...(details ? { details } : {}) });

export const notFound = (what: string): MosaicError =>
  new MosaicError('not_found', `${what} not found`, { httpStatus: 404 });

export const conflict = (message: string, details?: Record<string, unknown>): MosaicError =>
  new MosaicError('conflict', message, { httpStatus: 409, ...(details ? { details } : {}) });

export const unauthorized = (message = 'a valid bearer token is required'): MosaicError =>
  new MosaicError('unauthorized', message, { httpStatus: 401 });

export const forbidden = (message = 'this needs an admin token'): MosaicError =>
  new MosaicError('forbidden', message, { httpStatus: 403 });

/** A dependency (database, Valkey, homeserver) that must be started by the operator. */
export const serviceUnavailable = (message: string, cause?: unknown): MosaicError =>
  new MosaicError('service_unavailable', message, { httpStatus: 503, retryable: true, cause });

/** Connection-level failures of a dependency (not a bad statement or command): the dependency is out. */
const DB_OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const DB_OUTAGE_TEXT = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)|Cannot use a pool after calling end/i;
const VALKEY_OUTAGE_TEXT = /Connection is closed|Command timed out|max retries per request|Stream isn't writeable|Socket closed unexpectedly/i;

/**
 * Which dependency an error says is unavailable ('database' or 'valkey'),
 * or null when it is an ordinary failure. Follows `cause` (drizzle wraps
 * the driver's error in its own).
 */
export function outageOf(err: unknown): 'database' | 'valkey' | null {
  let e: unknown = err;
  let queried = false;
  for (let depth = 0; e && depth < 6; depth++) {
    const x = e as { code?: unknown; message?: unknown; name?: unknown; query?: unknown; cause?: unknown; command?: unknown };
    if (typeof x.query === 'string') queried = true;
    const message = typeof x.message === 'string' ? x.message : '';
    if (x.name === 'MaxRetriesPerRequestError' || (typeof x.command === 'object' && VALKEY_OUTAGE_TEXT.test(message))) return 'valkey';
    if (queried && ((typeof x.code === 'string' && DB_OUTAGE_CODES.has(x.code)) || DB_OUTAGE_TEXT.test(message))) return 'database';
    if (!queried && DB_OUTAGE_TEXT.test(message)) return 'database';
    if (VALKEY_OUTAGE_TEXT.test(message)) return 'valkey';
    e = x.cause;
  }
  return null;
}

export function isMosaicError(err: unknown): err is MosaicError {
  return err instanceof MosaicError;
}

/**
 * What a failed database statement may tell a log: the operation and table
 * it ran on, the SQLSTATE code and the constraint or column named in the
 * schema. Never the statement's parameters (drizzle puts them in its
 * message: password hashes, message text) and never the database's own
 * message or detail, which quote the offending values.
 */
export interface DatabaseFailure {
  operation: string | null;
  code: string | null;
  constraint?: string;
  table?: string;
  column?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

function isDriverError(e: unknown): e is { code: string; constraint?: unknown; table?: unknown; column?: unknown } {
  const x = e as { code?: unknown; severity?: unknown } | null;
  return typeof x?.code === 'string' && SQLSTATE.test(x.code) && typeof x.severity === 'string';
}

function isQueryError(e: unknown): e is Error & { query: string; params: unknown[] } {
  return e instanceof Error && typeof (e as { query?: unknown }).query === 'string' && Array.isArray((e as { params?: unknown }).params);
}

/** `insert into "messages"`: the statement's verb and table, from its text (never its values). */
function operationOf(query: string): string | null {
  const head = query.slice(0, 500);
  const verb = /^\s*(select|insert into|update|delete from|with)\b/i.exec(head)?.[1]?.toLowerCase() ?? null;
  if (!verb) return null;
  const table = verb === 'select' || verb === 'with' ? /\bfrom\s+("[\w.]+"|[\w.]+)/i.exec(head)?.[1] : /^\s*\w+(?:\s+\w+)?\s+("[\w.]+"|[\w.]+)/i.exec(head)?.[1];
  return table ? `${verb} ${table}` : verb;
}

/** The loggable facts of a database failure, or null when `err` is not one. */
export function databaseFailure(err: unknown): DatabaseFailure | null {
  const query = isQueryError(err) ? err : null;
  const driver = isDriverError(err) ? err : isDriverError(query?.cause) ? (query!.cause as { code: string; constraint?: unknown; table?: unknown; column?: unknown }) : null;
  if (!query && !driver) return null;
  return {
    operation: query ? operationOf(query.query) : null,
    code: driver?.code ?? null,
    ...(typeof driver?.constraint === 'string' ? { constraint: driver.constraint } : {}),
    ...(typeof driver?.table === 'string' ? { table: driver.table } : {}),
    ...(typeof driver?.column === 'string' ? { column: driver.column } : {}),
  };
}

export function describeDatabaseFailure(f: DatabaseFailure): string {
  const where = [f.constraint && `constraint ${f.constraint}`, f.column && `column ${f.column}`].filter(Boolean).join(', ');
  return `database statement failed${f.operation ? ` (${f.operation})` : ''}${f.code ? `: SQLSTATE ${f.code}` : ''}${where ? ` (${where})` : ''}`;
}

/** A message fit for a log line: a database failure is reduced to what `databaseFailure` keeps. */
export function errorMessage(err: unknown): string {
  const db = databaseFailure(err);
  if (db) return describeDatabaseFailure(db);
  if (err instanceof Error) return err.message;
  return String(err);
}
