/**
 * Where a CLI admin operation runs. On the embedded database (PGlite) only
 * one process may hold the data directory: when a server owns it, the
 * operation goes to that server over its admin socket (so a user created
 * now is the server's user, at once); otherwise this process takes the
 * directory briefly and runs the operation itself. On PostgreSQL every
 * process may connect, so the CLI always runs the operation itself.
 */
import { existsSync } from 'node:fs';
import type { LoadedConfig } from '../config/load.ts';
import { DataDirBusyError, describeOwner, readDataDirOwner, type DataDirOwner } from '../db/data-dir-lock.ts';
import { serviceUnavailable } from '../errors.ts';
import { callAdminSocket } from '../admin/socket-client.ts';
import type { AdminOperationName, AdminResult } from '../admin/operations.ts';
import type { LinkChannel } from '../identity/link-channels.ts';

/** How long the CLI waits for a server that is still starting to open its admin socket. */
const SERVER_START_WAIT_MS = 120_000;

const note = (line: string) => void process.stderr.write(`${line}\n`);

async function viaServer<K extends AdminOperationName>(dataDir: string, owner: DataDirOwner, op: K, args: unknown): Promise<AdminResult<K>> {
  const socket = owner.socket;
  if (!socket) throw serviceUnavailable(`${describeOwner(owner)} owns the embedded database but has no admin socket; stop it, or upgrade it`);
  const deadline = Date.now() + SERVER_START_WAIT_MS;
  let told = false;
  while (!existsSync(socket)) {
    if (Date.now() >= deadline) throw serviceUnavailable(`${describeOwner(owner)} has not opened its admin socket ${socket} after ${SERVER_START_WAIT_MS / 1000} s; is it stuck starting?`);
    if (!told) note(`waiting for ${describeOwner(owner)} to finish starting…`);
    told = true;
    await new Promise((r) => setTimeout(r, 200));
    const current = readDataDirOwner(dataDir);
    if (!current || current.pid !== owner.pid || current.since !== owner.since) {
      throw serviceUnavailable(`${describeOwner(owner)} stopped while starting; run the command again`);
    }
  }
  return callAdminSocket(socket, op, args);
}

export interface RunAdminOptions {
  /** The chat channels this process can link (a server has its own, running). */
  linkChannels?: () => Promise<LinkChannel[]>;
}

export async function runAdmin<K extends AdminOperationName>(loaded: LoadedConfig, op: K, args: unknown, options: RunAdminOptions = {}): Promise<AdminResult<K>> {
  const { config } = loaded;
  const embedded = !config.database.url;
  if (embedded) {
    const owner = readDataDirOwner(config.database.dataDir);
    if (owner?.role === 'server') return viaServer(config.database.dataDir, owner, op, args);
  }
  const command = op.replace('.', ' ');
  // Only this path opens the database and the services: load them only here.
  const { withLocalAdminContext } = await import('../admin/local-context.ts');
  const { operationNeedsDatabase, runAdminOperation } = await import('../admin/operations.ts');
  try {
    return await withLocalAdminContext(
      { config, command, onWait: (owner) => note(`waiting for ${describeOwner(owner)} to finish with the embedded database…`), ...(options.linkChannels ? { linkChannels: options.linkChannels } : {}) },
      (ctx) => runAdminOperation(ctx, op, args),
    );
  } catch (err) {
    // A server took the directory while we waited: ask it instead.
    if (embedded && err instanceof DataDirBusyError && err.owner.role === 'server' && operationNeedsDatabase(op)) return viaServer(config.database.dataDir, err.owner, op, args);
    throw err;
  }
}
