/**
 * Where the terminal client keeps what it remembers:
 * - `$XDG_CONFIG_HOME/mosaic/credentials.json` (default ~/.config): the server
 *   and the token, mode 0600 in a 0700 directory — the token is a password;
 * - `$XDG_STATE_HOME/mosaic/` (default ~/.local/state): the last conversation
 *   per server (the TUI reopens it) and the input history.
 * Files are written aside and renamed, so a crash never leaves half a file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ClientError, EXIT } from './errors.ts';

export interface Credentials {
  server: string;
  token: string;
  username: string;
  /** The token's id when `mosaic login` made it with a password: `logout` revokes it. */
  tokenId: string | null;
}

type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config'), 'mosaic');
}

export function stateDir(env: Env = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(env.HOME || homedir(), '.local', 'state'), 'mosaic');
}

export const credentialsFile = (env: Env = process.env) => path.join(configDir(env), 'credentials.json');

function writePrivate(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  // An umask or an older file must not leave it readable by others.
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    throw new ClientError(`${file} is not valid JSON: fix it, or remove it and sign in again`, EXIT.failure, 'bad_config');
  }
}

export function readCredentials(env: Env = process.env): Credentials | null {
  const file = credentialsFile(env);
  const creds = readJson<Credentials>(file);
  if (!creds) return null;
  // Refuse a token file others can read, as ssh refuses such a key.
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0) throw new ClientError(`${file} can be read by other users (mode ${(statSync(file).mode & 0o777).toString(8)}): run \`chmod 600 ${file}\``, EXIT.auth, 'insecure_config');
  return creds;
}

export function writeCredentials(creds: Credentials, env: Env = process.env): string {
  const file = credentialsFile(env);
  writePrivate(file, `${JSON.stringify(creds, null, 2)}\n`);
  return file;
}

export function removeCredentials(env: Env = process.env): boolean {
  const file = credentialsFile(env);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

interface State {
  lastConversation?: Record<string, string>;
}

const stateFile = (env: Env) => path.join(stateDir(env), 'state.json');

export function lastConversation(server: string, env: Env = process.env): string | null {
  try {
    return readJson<State>(stateFile(env))?.lastConversation?.[server] ?? null;
  } catch {
    return null;
  }
}

export function rememberConversation(server: string, id: string | null, env: Env = process.env): void {
  let state: State = {};
  try {
    state = readJson<State>(stateFile(env)) ?? {};
  } catch {
    // A broken state file is rewritten: it only holds conveniences.
  }
  const last = { ...state.lastConversation };
  if (id) last[server] = id;
  else delete last[server];
  writePrivate(stateFile(env), `${JSON.stringify({ ...state, lastConversation: last }, null, 2)}\n`);
}

const historyFile = (env: Env) => path.join(stateDir(env), 'history');
const HISTORY_MAX = 500;

/** The input history, oldest first; each entry JSON-encoded on its own line (entries may span lines). */
export function readHistory(env: Env = process.env): string[] {
  try {
    return readFileSync(historyFile(env), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string)
      .slice(-HISTORY_MAX);
  } catch {
    return [];
  }
}

export function writeHistory(entries: string[], env: Env = process.env): void {
  writePrivate(historyFile(env), entries.slice(-HISTORY_MAX).map((e) => JSON.stringify(e)).join('\n') + '\n');
}

/** The server and token to use: flags, then MOSAIC_SERVER / MOSAIC_TOKEN, then what `mosaic login` stored. */
export function resolveConnection(opts: { server?: string }, env: Env = process.env): { server: string; token: string; username: string | null } {
  const creds = readCredentials(env);
  const server = normaliseServer(opts.server ?? env.MOSAIC_SERVER ?? creds?.server ?? '');
  if (!server) throw new ClientError('no server: run `mosaic login --server <url>`, or pass --server / set MOSAIC_SERVER', EXIT.auth, 'not_signed_in');
  const token = env.MOSAIC_TOKEN || (creds && normaliseServer(creds.server) === server ? creds.token : '');
  if (!token) throw new ClientError(`not signed in to ${server}: run \`mosaic login --server ${server}\` or set MOSAIC_TOKEN`, EXIT.auth, 'not_signed_in');
  return { server, token, username: creds && creds.token === token ? creds.username : null };
}

/** `localhost:3000` → `http://localhost:3000`; no trailing slash. */
export function normaliseServer(raw: string): string {
  const s = raw.trim().replace(/\/+$/, '');
  if (!s) return '';
  const withScheme = /^https?:\/\//i.test(s) ? s : `http://${s}`;
  try {
    const u = new URL(withScheme);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new ClientError(`"${raw}" is not a server address: give one such as http://127.0.0.1:3000`, EXIT.usage, 'bad_server');
  }
}
