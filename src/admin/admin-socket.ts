/**
 * The running server's admin socket: a Unix socket in the data directory,
 * readable and writable by its owner only (mode 0600), on which the CLI asks
 * the server to run an admin operation. One JSON request per connection
 * (`{"op","args"}` and a newline), one JSON answer back
 * (`{"ok":true,"result"}` or `{"ok":false,"error":{code,message,httpStatus}}`).
 */
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../logging.ts';
import { errorMessage, isMosaicError, serviceUnavailable } from '../errors.ts';
import { runAdminOperation, type AdminContext, type AdminOperationName } from './operations.ts';

export const SOCKET_FILE = 'mosaic-admin.sock';
const MAX_REQUEST_BYTES = 1024 * 1024;
/** Unix socket paths are limited to about 104–108 bytes depending on the system. */
const MAX_SOCKET_PATH = 100;

/** Where a server with this data directory listens; outside it (in the temp folder) when the path would be too long. */
export function adminSocketPath(dataDir: string): string {
  const dir = path.resolve(dataDir);
  const inside = path.join(dir, SOCKET_FILE);
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside;
  return path.join(tmpdir(), `mosaic-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`);
}

export interface AdminSocketServer {
  path: string;
  close(): Promise<void>;
}

import type { SocketAnswer as Answer } from './socket-client.ts';

export async function startAdminSocket(options: { path: string; context: AdminContext; logger: Logger }): Promise<AdminSocketServer> {
  const { logger } = options;
  // We own the data directory's lock, so a socket file left here is a dead server's.
  rmSync(options.path, { force: true });
  const server = net.createServer((socket) => {
    socket.setTimeout(120_000, () => socket.destroy());
    socket.on('error', () => undefined);
    let buffer = '';
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      buffer += chunk.toString('utf8');
      if (Buffer.byteLength(buffer) > MAX_REQUEST_BYTES) {
        handled = true;
        reply(socket, { ok: false, error: { code: 'payload_too_large', message: 'admin request larger than 1 MiB', httpStatus: 413 } });
        return;
      }
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      handled = true;
      void answer(buffer.slice(0, end)).then((a) => reply(socket, a));
    });
  });
  const answer = async (line: string): Promise<Answer> => {
    let request: { op?: unknown; args?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      return { ok: false, error: { code: 'bad_request', message: 'admin request is not JSON', httpStatus: 400 } };
    }
    try {
      const result = await runAdminOperation(options.context, request.op as AdminOperationName, request.args);
      logger.info({ event: 'admin.operation', op: request.op }, `admin operation ${String(request.op)}`);
      return { ok: true, result };
    } catch (err) {
      if (isMosaicError(err)) return { ok: false, error: { code: err.code, message: err.message, httpStatus: err.httpStatus } };
      logger.error({ err, op: request.op }, 'admin operation failed');
      return { ok: false, error: { code: 'internal', message: errorMessage(err), httpStatus: 500 } };
    }
  };
  // The socket is created owner-only from the start: no moment where others could connect.
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.path, () => resolve());
    });
  } catch (err) {
    throw serviceUnavailable(`cannot open the admin socket ${options.path}: ${errorMessage(err)}`, err);
  } finally {
    process.umask(previousUmask);
  }
  chmodSync(options.path, 0o600);
  return {
    path: options.path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(options.path, { force: true });
      }),
  };
}

function reply(socket: net.Socket, answer: Answer): void {
  socket.end(`${JSON.stringify(answer)}\n`);
}
