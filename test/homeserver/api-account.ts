/**
 * Client-Server endpoints about accounts: versions, capabilities, register
 * (including `m.login.application_service`), login, whoami, logout, profile,
 * account data and filters.
 */
import { randomBytes } from 'node:crypto';
import { MatrixError, forbidden, notFound, Reply, type RequestContext } from './router.ts';
import type { TestHomeserver } from './server.ts';
import { ROOM_VERSION } from './rooms.ts';

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

export function registerAccountApi(hs: TestHomeserver): void {
  const r = hs.router;
  const a = hs.accounts;

  r.on('GET', '/_matrix/client/versions', () => ({
    versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'],
    unstable_features: {},
  }));

  r.on('GET', '/_matrix/client/v3/capabilities', (ctx) => {
    hs.authenticate(ctx);
    return {
      capabilities: {
        'm.room_versions': { default: ROOM_VERSION, available: { [ROOM_VERSION]: 'stable' } },
        'm.change_password': { enabled: false },
      },
    };
  });

  const sessions = new Set<string>();
  r.on('POST', '/_matrix/client/v3/register', (ctx) => {
    const body = (ctx.body ?? {}) as { type?: string; username?: string; password?: string; inhibit_login?: boolean; auth?: { type?: string; session?: string }; device_id?: string };
    const kind = ctx.query.get('kind') ?? 'user';
    if (kind !== 'user') throw forbidden('Guest access is disabled');
    const as = a.appserviceOf(ctx);
    if (body.type === 'm.login.application_service') {
      if (!as) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Appservice token must be provided when using a type of m.login.application_service');
      if (!body.username) throw new MatrixError(400, 'M_INVALID_USERNAME', 'username is required');
      const userId = a.userId(body.username.toLowerCase());
      if (Buffer.byteLength(userId) > 255) throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may not be longer than 255 characters');
      if (!LOCALPART.test(body.username)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID can only contain characters a-z, 0-9, or \'=_-./+\'');
      if (!a.isInUserNamespace(as, userId)) throw new MatrixError(400, 'M_EXCLUSIVE', 'Invalid user localpart for this application service.');
      const user = a.createUser(body.username, { appserviceId: as.id });
      return loginResponse(hs, user.userId, body.inhibit_login, body.device_id);
    }
    if (as) throw new MatrixError(400, 'M_BAD_JSON', 'An application service must register with type m.login.application_service');
    // User-interactive auth: one dummy stage.
    if (!body.auth || body.auth.type !== 'm.login.dummy') {
      const session = randomBytes(8).toString('hex');
      sessions.add(session);
      return new Reply(401, { flows: [{ stages: ['m.login.dummy'] }], params: {}, session });
    }
    const username = body.username ?? `user${randomBytes(4).toString('hex')}`;
    if (!LOCALPART.test(username)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID can only contain characters a-z, 0-9, or \'=_-./+\'');
    const userId = a.userId(username);
    if (Buffer.byteLength(userId) > 255) throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may not be longer than 255 characters');
    if (a.appserviceForUser(userId, true)) throw new MatrixError(400, 'M_EXCLUSIVE', 'This user ID is reserved by an application service.');
    const user = a.createUser(username, { password: body.password });
    return loginResponse(hs, user.userId, body.inhibit_login, body.device_id);
  });

  r.on('GET', '/_matrix/client/v3/register/available', (ctx) => {
    const username = ctx.query.get('username') ?? '';
    if (!LOCALPART.test(username)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username');
    const userId = a.userId(username);
    if (a.appserviceForUser(userId, true)) throw new MatrixError(400, 'M_EXCLUSIVE', 'This user ID is reserved by an application service.');
    if (a.users.has(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    return { available: true };
  });

  r.on('GET', '/_matrix/client/v3/login', () => ({ flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] }));

  r.on('POST', '/_matrix/client/v3/login', (ctx) => {
    const body = ctx.body as { type: string; identifier?: { type?: string; user?: string }; user?: string; password?: string; device_id?: string };
    const name = body.identifier?.user ?? body.user;
    if (!name) throw new MatrixError(400, 'M_BAD_JSON', 'identifier.user is required');
    const userId = a.userId(name);
    if (body.type === 'm.login.application_service') {
      const as = a.appserviceOf(ctx);
      if (!as) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing appservice token');
      if (!a.isInUserNamespace(as, userId) || !a.users.has(userId)) throw forbidden('User is not in the appservice namespace or does not exist');
      return loginResponse(hs, userId, false, body.device_id);
    }
    if (body.type !== 'm.login.password') throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${body.type}`);
    const user = a.users.get(userId);
    if (!user || user.password === undefined || user.password !== body.password) throw forbidden('Invalid username or password');
    return loginResponse(hs, userId, false, body.device_id);
  });

  r.on('POST', '/_matrix/client/v3/logout', (ctx) => {
    const who = hs.authenticate(ctx);
    if (!who.appservice) a.revoke(who.token);
    return {};
  });

  r.on('GET', '/_matrix/client/v3/account/whoami', (ctx) => {
    const who = hs.authenticate(ctx);
    return { user_id: who.userId, device_id: who.deviceId, is_guest: false };
  });

  // ---- profile ----
  const profileOf = async (userId: string) => {
    if (!(await hs.ensureUserKnown(userId))) throw notFound('Profile was not found');
    return a.users.get(userId)!;
  };
  r.on('GET', '/_matrix/client/v3/profile/{userId}', async (ctx) => {
    const user = await profileOf(ctx.params.userId!);
    const out: Record<string, string> = {};
    if (user.displayname !== undefined) out.displayname = user.displayname;
    if (user.avatar_url !== undefined) out.avatar_url = user.avatar_url;
    return out;
  });
  for (const field of ['displayname', 'avatar_url'] as const) {
    r.on('GET', `/_matrix/client/v3/profile/{userId}/${field}`, async (ctx) => {
      const user = await profileOf(ctx.params.userId!);
      if (user[field] === undefined) throw notFound(`The user has no ${field}`);
      return { [field]: user[field] };
    });
    r.on('PUT', `/_matrix/client/v3/profile/{userId}/${field}`, async (ctx: RequestContext) => {
      const who = hs.authenticate(ctx);
      if (who.userId !== ctx.params.userId) throw forbidden('Cannot set another user\'s profile');
      const value = (ctx.body as Record<string, unknown>)[field];
      if (typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', `${field} must be a string`);
      const user = a.users.get(who.userId)!;
      user[field] = value;
      // Like Synapse: the new profile is announced in every joined room.
      for (const room of hs.rooms.rooms.values()) {
        const member = room.getState('m.room.member', who.userId);
        if (member?.content.membership !== 'join') continue;
        hs.rooms.send(room, { type: 'm.room.member', sender: who.userId, state_key: who.userId, content: { ...member.content, [field]: value } });
      }
      return {};
    });
  }

  // ---- account data and filters ----
  r.on('PUT', '/_matrix/client/v3/user/{userId}/account_data/{type}', (ctx) => {
    const who = hs.authenticate(ctx);
    if (who.userId !== ctx.params.userId) throw forbidden('Cannot add account data for other users.');
    hs.admin.accountData(who.userId).set(ctx.params.type!, ctx.body as Record<string, unknown>);
    hs.rooms.stream++;
    return {};
  });
  r.on('GET', '/_matrix/client/v3/user/{userId}/account_data/{type}', (ctx) => {
    const who = hs.authenticate(ctx);
    if (who.userId !== ctx.params.userId) throw forbidden('Cannot get account data for other users.');
    const value = hs.admin.accountData(who.userId).get(ctx.params.type!);
    if (!value) throw notFound('Account data not found');
    return value;
  });
  r.on('POST', '/_matrix/client/v3/user/{userId}/filter', (ctx) => {
    const who = hs.authenticate(ctx);
    if (who.userId !== ctx.params.userId) throw forbidden('Cannot create filters for other users');
    return { filter_id: hs.admin.saveFilter(who.userId, ctx.body as Record<string, unknown>) };
  });
  r.on('GET', '/_matrix/client/v3/user/{userId}/filter/{filterId}', (ctx) => {
    const who = hs.authenticate(ctx);
    const f = hs.admin.filter(who.userId, ctx.params.filterId!);
    if (!f || who.userId !== ctx.params.userId) throw notFound('No such filter');
    return f;
  });
}

function loginResponse(hs: TestHomeserver, userId: string, inhibit: boolean | undefined, deviceId?: string): Record<string, unknown> {
  if (inhibit) return { user_id: userId };
  const t = hs.accounts.issueToken(userId, deviceId);
  return { user_id: userId, access_token: t.accessToken, device_id: t.deviceId, home_server: hs.serverName };
}
