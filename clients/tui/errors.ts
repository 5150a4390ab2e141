/**
 * What can go wrong in the terminal client, each with the exit code `mosaic
 * chat` (and `login`, `tui`) ends with, so scripts can tell the cases apart.
 * Messages say what to do next.
 */
export const EXIT = {
  ok: 0,
  /** Anything not below: an API error (a conversation not found, a bad argument the server refused …). */
  failure: 1,
  /** The command was called wrongly (no message, a bad option). */
  usage: 2,
  /** Not signed in, or the token was refused (revoked, the account disabled). */
  auth: 3,
  /** The server could not be reached. */
  unreachable: 4,
  /** The message was stored but not answered: routing refused it, the budget is spent, every model failed. */
  noAnswer: 5,
  /** The answer was stopped (by /stop, another surface or Ctrl-C). */
  stopped: 6,
  /** No answer within --timeout. */
  timeout: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
    readonly code = 'client_error',
  ) {
    super(message);
  }
}

/** An error answer of the REST API, in its one shape. */
export class ApiError extends ClientError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(message, status === 401 ? EXIT.auth : EXIT.failure, code);
  }
}

export const notSignedIn = (server?: string) =>
  new ClientError(server ? `not signed in to ${server}: run \`mosaic login --server ${server}\` or set MOSAIC_TOKEN` : 'not signed in: run `mosaic login --server <url>` or set MOSAIC_SERVER and MOSAIC_TOKEN', EXIT.auth, 'not_signed_in');

export const unreachable = (server: string, why: string) =>
  new ClientError(`cannot reach Mosaic at ${server} (${why}): is it running (\`mosaic start\`)? Another address: --server <url>`, EXIT.unreachable, 'unreachable');

export const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));
