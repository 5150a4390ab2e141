/** `mosaic login` and `mosaic logout`: a token for the terminal client, kept in the user's config directory (config.ts). */
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { RestClient } from './api.ts';
import { readCredentials, removeCredentials, writeCredentials, normaliseServer, credentialsFile } from './config.ts';
import { ClientError, EXIT, describe } from './errors.ts';

export interface LoginOptions {
  server?: string;
  token?: string;
  username?: string;
  passwordStdin?: boolean;
}

type Print = (line: string) => void;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer.trim());
    }),
  );
}

/** Reads a password from the terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new ClientError('sign-in cancelled', EXIT.usage, 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function runLogin(opts: LoginOptions, print: Print, env = process.env): Promise<void> {
  const existing = (() => {
    try {
      return readCredentials(env);
    } catch {
      return null;
    }
  })();
  const server = normaliseServer(opts.server ?? env.MOSAIC_SERVER ?? existing?.server ?? '');
  if (!server) throw new ClientError('which server? `mosaic login --server http://host:3000`', EXIT.usage, 'usage');
  const token = opts.token ?? env.MOSAIC_TOKEN;
  if (token) {
    const me = await new RestClient(server, token).get<{ username: string }>('/api/me');
    const file = writeCredentials({ server, token, username: me.username, tokenId: null }, env);
    print(`signed in to ${server} as ${me.username}; the token is kept in ${file} (readable only by you)`);
    return;
  }
  const interactive = process.stdin.isTTY === true;
  const username = opts.username ?? (interactive ? await ask('Username: ') : '');
  if (!username) throw new ClientError('a username is needed: --username <name> (or run `mosaic login` in a terminal)', EXIT.usage, 'usage');
  let password: string;
  if (opts.passwordStdin || !interactive) password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
  else password = await askHidden('Password: ');
  if (!password) throw new ClientError('a password is needed (or sign in with --token / MOSAIC_TOKEN)', EXIT.usage, 'usage');
  const signedIn = await new RestClient(server, null).post<{ token: string; id: string; username: string }>('/api/auth/login', {
    username,
    password,
    tokenName: `mosaic tui on ${hostname()}`.slice(0, 64),
  });
  const file = writeCredentials({ server, token: signedIn.token, username: signedIn.username, tokenId: signedIn.id }, env);
  print(`signed in to ${server} as ${signedIn.username}; the token is kept in ${file} (readable only by you)`);
}

export async function runLogout(print: Print, env = process.env): Promise<void> {
  const creds = readCredentials(env);
  if (!creds) {
    print(`not signed in (no ${credentialsFile(env)}); nothing to do`);
    return;
  }
  let note = '';
  if (creds.tokenId) {
    // The token `login` made is revoked on the server too; one given with --token belongs to whoever made it.
    try {
      await new RestClient(creds.server, creds.token).request('DELETE', `/api/tokens/${creds.tokenId}`);
      note = '; its token is revoked';
    } catch (err) {
      note = `; its token could not be revoked (${describe(err)}): revoke it in the web client's settings or with DELETE /api/tokens/${creds.tokenId}`;
    }
  }
  removeCredentials(env);
  print(`signed out of ${creds.server}${note}`);
}
