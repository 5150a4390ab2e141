/** Listening on a port, with the one line a person needs when it cannot be done. */
import type { Server } from 'node:http';
import { MosaicError } from '../errors.ts';

export class PortUnavailableError extends MosaicError {
  constructor(message: string, cause: unknown) {
    super('port_unavailable', message, { httpStatus: 500, cause });
  }
}

/**
 * Starts listening, or throws one line naming the port, the interface and
 * the setting to change (`setting`, e.g. "PORT (http.port)").
 */
export function listenHttp(server: Server, options: { port: number; host: string; setting: string }): Promise<void> {
  const { port, host, setting } = options;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new PortUnavailableError(`port ${port} on ${host} is already in use (another Mosaic?): stop what uses it, or set ${setting} to a free port`, err));
      else if (err.code === 'EACCES') reject(new PortUnavailableError(`port ${port} on ${host} needs privileges this process lacks: use a port above 1023 with ${setting}`, err));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new PortUnavailableError(`cannot listen on ${host}:${port}: this machine has no such address (${err.code}); fix the host setting`, err));
      else reject(new PortUnavailableError(`cannot listen on ${host}:${port} (${err.code ?? err.message}); check ${setting}`, err));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Whether a port could be listened on now (for `config check`; `start` listens for real). */
export async function portAvailable(options: { port: number; host: string; setting: string }): Promise<void> {
  const { createServer } = await import('node:http');
  const probe = createServer();
  await listenHttp(probe, options);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
