/**
 * One owner for the embedded database. PGlite is a single-process database:
 * a second process opening the same folder writes its own copy of the pages
 * and the first one never sees them (a user created there is lost). So the
 * data directory carries a lock file naming its owner — pid, the process's
 * start time (so a recycled pid is not mistaken for the owner), its role and,
 * for a server, the admin socket the CLI talks to instead.
 *
 * Stale locks (the owner died) are recovered under a short-lived recovery
 * lock, so two processes recovering at once cannot remove each other's
 * fresh lock.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MosaicError } from '../errors.ts';
import { pidAlive } from '../pid-alive.ts';

export const LOCK_FILE = 'mosaic.lock';

export interface DataDirOwner {
  pid: number;
  /** The owner's start time as the kernel counts it (Linux); null where unknown. */
  startTime: string | null;
  host: string;
  /** `server`: `mosaic start` (has an admin socket); `command`: a CLI command holding the database briefly. */
  role: 'server' | 'command';
  /** What the owner runs, for messages (`start`, `user create` …). */
  command: string;
  /** Unix socket of a server's admin operations. */
  socket: string | null;
  since: string;
}

export class DataDirBusyError extends MosaicError {
  constructor(
    message: string,
    readonly owner: DataDirOwner,
  ) {
    super('data_dir_busy', message, { httpStatus: 409 });
  }
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), or null off Linux. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process named by the lock still runs (and is the same process, not a recycled pid). */
export function ownerAlive(owner: DataDirOwner): boolean {
  // Another machine's process (a shared folder) cannot be checked: assume it runs.
  if (owner.host !== hostname()) return true;
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || !pidAlive(owner.pid)) return false;
  const now = processStartTime(owner.pid);
  return owner.startTime === null || now === null || now === owner.startTime;
}

function lockPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), LOCK_FILE);
}

function readOwnerFile(file: string): DataDirOwner | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as DataDirOwner;
    if (typeof parsed.pid === 'number') return parsed;
  } catch {
    // A half-written or foreign file: treated as stale below.
  }
  return { pid: -1, startTime: null, host: hostname(), role: 'command', command: 'unknown', socket: null, since: '' };
}

/** The live owner of the data directory, or null when there is none (a stale lock counts as none). */
export function readDataDirOwner(dataDir: string): DataDirOwner | null {
  const owner = readOwnerFile(lockPath(dataDir));
  return owner && ownerAlive(owner) ? owner : null;
}

export function describeOwner(owner: DataDirOwner): string {
  const what = owner.role === 'server' ? 'a running Mosaic server' : `\`mosaic ${owner.command}\``;
  return `${what} (pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}${owner.since ? `, since ${owner.since}` : ''})`;
}

export interface DataDirLock {
  readonly owner: DataDirOwner;
  release(): void;
}

/** Creates the lock file atomically: written aside, then hard-linked into place (fails if one exists). */
function tryCreate(file: string, owner: DataDirOwner): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Removes a stale lock, unless another process replaced it meanwhile. */
function recoverStale(file: string, stale: DataDirOwner): void {
  const guard = `${file}.recover`;
  try {
    // A recovery guard left by a crashed recoverer is itself stale after a few seconds.
    if (Date.now() - statSync(guard).mtimeMs > 5000) rmSync(guard, { force: true });
  } catch {
    // no guard
  }
  let fd: number;
  try {
    fd = openSync(guard, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return; // someone else recovers; try again
    throw err;
  }
  try {
    const current = readOwnerFile(file);
    if (current && current.pid === stale.pid && current.since === stale.since && !ownerAlive(current)) unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  } finally {
    closeSync(fd);
    rmSync(guard, { force: true });
  }
}

export interface AcquireOptions {
  role: DataDirOwner['role'];
  command: string;
  socket?: string | null;
  /** How long to wait for another owner to let go (a command finishing); 0 refuses at once. */
  waitMs?: number;
  /** Told once when we start waiting. */
  onWait?(owner: DataDirOwner): void;
}

/**
 * Takes the data directory, or throws DataDirBusyError naming the owner.
 * A server never waits for another server; anything waits up to `waitMs`
 * for a command to finish.
 */
export async function acquireDataDirLock(dataDir: string, options: AcquireOptions): Promise<DataDirLock> {
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = lockPath(dir);
  const me: DataDirOwner = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    host: hostname(),
    role: options.role,
    command: options.command,
    socket: options.socket ?? null,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + (options.waitMs ?? 0);
  let told = false;
  for (;;) {
    if (tryCreate(file, me)) break;
    const current = readOwnerFile(file);
    if (!current) continue;
    if (!ownerAlive(current)) {
      recoverStale(file, current);
      continue;
    }
    if (current.role === 'server' || Date.now() >= deadline) {
      throw new DataDirBusyError(busyMessage(dir, current, options), current);
    }
    if (!told) {
      told = true;
      options.onWait?.(current);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let released = false;
  return {
    owner: me,
    release() {
      if (released) return;
      released = true;
      // Only our own lock: never remove one a recovery handed to someone else.
      const current = readOwnerFile(file);
      if (current && current.pid === me.pid && current.since === me.since) rmSync(file, { force: true });
    },
  };
}

function busyMessage(dir: string, owner: DataDirOwner, options: AcquireOptions): string {
  const base = `the embedded database in ${dir} is in use by ${describeOwner(owner)}`;
  if (options.role === 'server' && owner.role === 'server') {
    return `${base}: stop it first, or give this one its own data directory (MOSAIC_DATA_DIR) or a PostgreSQL database (DATABASE_URL)`;
  }
  return `${base}; try again when it has finished`;
}
