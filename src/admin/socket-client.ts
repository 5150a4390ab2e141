/**
 * The CLI's side of the admin socket (src/admin/admin-socket.ts): one request,
 * one answer. Kept apart from the server side so a command that only talks
 * to the server loads nothing of the database or the services.
 */
import net from 'node:net';
import { MosaicError, serviceUnavailable } from '../errors.ts';
import type { AdminOperationName, AdminResult } from './operations.ts';

export interface SocketAnswer {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string; httpStatus: number };
}

/** Asks the server behind the socket to run one operation; its errors come back as MosaicErrors. */
export function callAdminSocket<K extends AdminOperationName>(socketPath: string, op: K, args: unknown, timeoutMs = 120_000): Promise<AdminResult<K>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let data = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(serviceUnavailable(`the running Mosaic did not answer on ${socketPath} within ${Math.round(timeoutMs / 1000)} s`));
    });
    socket.on('connect', () => socket.write(`${JSON.stringify({ op, args })}\n`));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('error', (err) => reject(serviceUnavailable(`cannot reach the running Mosaic on its admin socket ${socketPath} (${(err as NodeJS.ErrnoException).code ?? err.message})`, err)));
    socket.on('end', () => {
      let parsed: SocketAnswer;
      try {
        parsed = JSON.parse(data) as SocketAnswer;
      } catch {
        reject(serviceUnavailable(`the running Mosaic answered something unreadable on ${socketPath}`));
        return;
      }
      if (parsed.ok) resolve(parsed.result as AdminResult<K>);
      else reject(new MosaicError(parsed.error?.code ?? 'internal', parsed.error?.message ?? 'the server refused', { httpStatus: parsed.error?.httpStatus ?? 500 }));
    });
  });
}
