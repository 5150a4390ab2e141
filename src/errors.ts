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

export function isMosaicError(err: unknown): err is MosaicError {
  return err instanceof MosaicError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
