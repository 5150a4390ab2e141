/**
 * Conduit takes appservice registrations only through its admin room: this
 * logs in as a Conduit admin, finds `#admins:<server>` and posts the
 * `register-appservice` command with the registration YAML in a code block,
 * exactly as a person would, then waits briefly for the server bot's answer.
 */
import { MosaicError } from '../../src/errors.ts';

export interface ConduitRegisterInput {
  homeserverUrl: string;
  serverName: string;
  adminUser: string;
  adminPassword: string;
  /** The registration file's text (sent as written). */
  registrationYaml: string;
  /** How long to wait for Conduit's answer (default 10 s). */
  waitMs?: number;
}

export interface ConduitRegisterResult {
  roomId: string;
  eventId: string;
  /** What @conduit answered, when it answered in time. */
  answer: string | null;
}

async function call<T>(base: string, method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new MosaicError('homeserver_unreachable', `cannot reach the homeserver at ${base}: ${(err as Error).message}`, { httpStatus: 503, retryable: true });
  }
  const json = (await res.json().catch(() => ({}))) as T & { errcode?: string; error?: string };
  if (!res.ok) throw new MosaicError('homeserver_error', `${method} ${path.replace(/\?.*/, '')}: ${res.status} ${json.errcode ?? ''} ${json.error ?? ''}`.trim(), { httpStatus: 502 });
  return json;
}

/**
 * Waits until the homeserver answers `/_matrix/client/versions` (Conduit's
 * image has no shell for a container healthcheck, so the registration step
 * checks its health itself), or throws after `timeoutMs`.
 */
export async function waitForHomeserver(homeserverUrl: string, timeoutMs: number, onWaiting?: (reason: string) => void): Promise<void> {
  const url = `${homeserverUrl.replace(/\/+$/, '')}/_matrix/client/versions`;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    let reason: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
      reason = `HTTP ${res.status}`;
    } catch (err) {
      reason = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (err as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new MosaicError('homeserver_unreachable', `the homeserver at ${homeserverUrl} did not answer /_matrix/client/versions within ${Math.round(timeoutMs / 1000)} s (last: ${reason})`, { httpStatus: 503, retryable: true });
    }
    if (!told) onWaiting?.(reason);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The admin room message: the command line, then the YAML in a code block. */
export function registerCommandText(serverName: string, registrationYaml: string): string {
  const yaml = registrationYaml
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .trim();
  return `@conduit:${serverName}: register-appservice\n\`\`\`\n${yaml}\n\`\`\``;
}

export async function registerWithConduit(input: ConduitRegisterInput): Promise<ConduitRegisterResult> {
  const base = input.homeserverUrl.replace(/\/+$/, '');
  if (!input.adminPassword) throw new MosaicError('conduit_admin_missing', 'set CONDUIT_ADMIN_USER and CONDUIT_ADMIN_PASSWORD to a Conduit admin account (the first user registered on the server)');
  const login = await call<{ access_token: string; user_id: string }>(base, 'POST', '/_matrix/client/v3/login', null, {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: input.adminUser },
    password: input.adminPassword,
    initial_device_display_name: 'mosaic conduit register',
  });
  const token = login.access_token;
  try {
    const alias = `#admins:${input.serverName}`;
    const { room_id: roomId } = await call<{ room_id: string }>(base, 'GET', `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, token).catch((err: unknown) => {
      throw new MosaicError('conduit_admin_room', `the admin room ${alias} was not found (${(err as Error).message}); is ${input.homeserverUrl} a Conduit server named ${input.serverName}?`);
    });
    const body = registerCommandText(input.serverName, input.registrationYaml);
    const txnId = `mosaic-register-${Date.now()}`;
    const { event_id: eventId } = await call<{ event_id: string }>(base, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, token, { msgtype: 'm.text', body });
    const answer = await waitForAnswer(base, token, roomId, eventId, `@conduit:${input.serverName}`, input.waitMs ?? 10_000);
    return { roomId, eventId, answer };
  } finally {
    await call(base, 'POST', '/_matrix/client/v3/logout', token, {}).catch(() => undefined);
  }
}

async function waitForAnswer(base: string, token: string, roomId: string, after: string, botUserId: string, waitMs: number): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const page = await call<{ chunk: Array<{ event_id: string; sender: string; type: string; content: { body?: unknown } }> }>(
      base,
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20`,
      token,
    );
    for (const e of page.chunk) {
      if (e.event_id === after) break;
      if (e.sender === botUserId && e.type === 'm.room.message' && typeof e.content.body === 'string') return e.content.body;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}
