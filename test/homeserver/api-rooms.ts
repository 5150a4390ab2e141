/**
 * Client-Server endpoints about rooms: createRoom, membership (join, invite,
 * kick, ban, unban, leave), state, sending with transaction ids, redaction,
 * typing, single events, members, joined rooms, and the room directory.
 */
import { MatrixError, forbidden, notFound, type RequestContext } from './router.ts';
import type { TestHomeserver } from './server.ts';
import { ROOM_VERSION, clientEvent, type Room } from './rooms.ts';
import type { Requester } from './auth.ts';

type Json = Record<string, unknown>;

interface CreateRoomBody {
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Json;
  initial_state?: { type: string; state_key?: string; content: Json }[];
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  is_direct?: boolean;
  power_level_content_override?: Json;
}

export function registerRoomApi(hs: TestHomeserver): void {
  const r = hs.router;
  const store = hs.rooms;
  const C = '/_matrix/client/v3';

  /** The room, after checking the requester may see it (a member now or before). */
  const memberRoom = (roomId: string, who: Requester): Room => {
    const room = store.rooms.get(roomId);
    const m = room?.membership(who.userId);
    if (!room || (m !== 'join' && m !== 'leave' && m !== 'ban')) throw forbidden(`You don't have permission to access room ${roomId}`);
    return room;
  };

  const resolveAlias = async (alias: string): Promise<string | undefined> => {
    let entry = store.aliases.get(alias);
    if (!entry) {
      const as = hs.accounts.appserviceForAlias(alias);
      if (as) {
        await hs.pusher(as.id).query('rooms', alias);
        entry = store.aliases.get(alias);
      }
    }
    return entry?.roomId;
  };

  const checkAliasNamespace = (who: Requester, alias: string) => {
    const owner = hs.accounts.appserviceForAlias(alias, true);
    if (owner && owner.id !== who.appservice?.id) throw new MatrixError(400, 'M_EXCLUSIVE', 'Room alias is reserved by an application service');
  };

  r.on('POST', `${C}/createRoom`, async (ctx) => {
    const who = hs.authenticate(ctx);
    const body = (ctx.body ?? {}) as CreateRoomBody;
    if (body.room_version && body.room_version !== ROOM_VERSION) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${body.room_version} is not supported`);
    let alias: string | undefined;
    if (body.room_alias_name !== undefined) {
      alias = `#${body.room_alias_name}:${hs.serverName}`;
      if (/[\s:#]/.test(body.room_alias_name)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid characters in room alias');
      if (store.aliases.has(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
      checkAliasNamespace(who, alias);
    }
    for (const invitee of body.invite ?? []) {
      if (!(await hs.ensureUserKnown(invitee))) throw notFound(`Unknown user ${invitee}`);
    }
    for (const s of body.initial_state ?? []) {
      const violations = hs.checker.checkEventContent('POST /_matrix/client/v3/createRoom (initial_state)', s.type, s.content);
      if (violations.length) { hs.recordViolations(violations); throw new MatrixError(400, 'M_BAD_JSON', violations.map((v) => v.message).join('; ')); }
    }
    const preset = body.preset ?? (body.visibility === 'public' ? 'public_chat' : 'private_chat');
    const room = store.createRoomShell(who.userId);
    room.published = body.visibility === 'public';
    const send = (type: string, content: Json, state_key?: string) => store.send(room, { type, sender: who.userId, content, state_key });
    send('m.room.create', { ...(body.creation_content ?? {}), creator: who.userId, room_version: ROOM_VERSION }, '');
    send('m.room.member', { membership: 'join', ...profileFields(hs, who.userId) }, who.userId);
    const users: Record<string, number> = { [who.userId]: 100 };
    if (preset === 'trusted_private_chat') for (const i of body.invite ?? []) users[i] = 100;
    const pl: Json = {
      users, users_default: 0,
      events: {
        'm.room.name': 50, 'm.room.power_levels': 100, 'm.room.history_visibility': 100, 'm.room.canonical_alias': 50,
        'm.room.avatar': 50, 'm.room.tombstone': 100, 'm.room.server_acl': 100, 'm.room.encryption': 100,
      },
      events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0, historical: 100,
      notifications: { room: 50 },
      ...(body.power_level_content_override ?? {}),
    };
    send('m.room.power_levels', pl, '');
    if (alias) {
      store.aliases.set(alias, { roomId: room.roomId, creator: who.userId });
      send('m.room.canonical_alias', { alias }, '');
    }
    send('m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' }, '');
    send('m.room.history_visibility', { history_visibility: 'shared' }, '');
    send('m.room.guest_access', { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' }, '');
    for (const s of body.initial_state ?? []) send(s.type, s.content, s.state_key ?? '');
    if (body.name !== undefined) send('m.room.name', { name: body.name }, '');
    if (body.topic !== undefined) send('m.room.topic', { topic: body.topic, 'm.topic': { 'm.text': [{ mimetype: 'text/plain', body: body.topic }] } }, '');
    for (const invitee of body.invite ?? []) {
      send('m.room.member', { membership: 'invite', ...(body.is_direct ? { is_direct: true } : {}), ...profileFields(hs, invitee) }, invitee);
    }
    return { room_id: room.roomId };
  });

  // ---- membership ----
  const join = async (ctx: RequestContext, roomIdOrAlias: string) => {
    const who = hs.authenticate(ctx);
    const roomId = roomIdOrAlias.startsWith('#') ? await resolveAlias(roomIdOrAlias) : roomIdOrAlias;
    const room = roomId ? store.rooms.get(roomId) : undefined;
    if (!room) throw notFound(`No known servers for ${roomIdOrAlias}`);
    const current = room.getState('m.room.member', who.userId);
    if (current?.content.membership !== 'join') {
      const reason = (ctx.body as Json | undefined)?.reason;
      store.send(room, { type: 'm.room.member', sender: who.userId, state_key: who.userId, content: { membership: 'join', ...profileFields(hs, who.userId), ...(typeof reason === 'string' ? { reason } : {}) } });
    }
    return { room_id: room.roomId };
  };
  r.on('POST', `${C}/join/{roomIdOrAlias}`, (ctx) => join(ctx, ctx.params.roomIdOrAlias!));
  r.on('POST', `${C}/rooms/{roomId}/join`, (ctx) => join(ctx, ctx.params.roomId!));

  const membershipChange = (membership: string, self: boolean) => async (ctx: RequestContext) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    const body = (ctx.body ?? {}) as { user_id?: string; reason?: string };
    const target = self ? who.userId : body.user_id!;
    if (membership === 'invite' && !(await hs.ensureUserKnown(target))) throw notFound(`Unknown user ${target}`);
    const content: Json = { membership };
    if (body.reason) content.reason = body.reason;
    if (membership === 'invite') Object.assign(content, profileFields(hs, target));
    if (membership === 'leave' && !self && room.membership(target) === undefined) throw forbidden(`${target} is not in the room`);
    store.send(room, { type: 'm.room.member', sender: who.userId, state_key: target, content });
    return {};
  };
  r.on('POST', `${C}/rooms/{roomId}/invite`, membershipChange('invite', false));
  r.on('POST', `${C}/rooms/{roomId}/kick`, membershipChange('leave', false));
  r.on('POST', `${C}/rooms/{roomId}/ban`, membershipChange('ban', false));
  r.on('POST', `${C}/rooms/{roomId}/leave`, membershipChange('leave', true));
  r.on('POST', `${C}/rooms/{roomId}/unban`, async (ctx) => {
    const room = store.room(ctx.params.roomId!);
    const target = (ctx.body as { user_id: string }).user_id;
    if (room.membership(target) !== 'ban') throw forbidden(`${target} is not banned`);
    return membershipChange('leave', false)(ctx);
  });
  r.on('POST', `${C}/rooms/{roomId}/forget`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    if (room.membership(who.userId) === 'join') throw new MatrixError(400, 'M_UNKNOWN', 'User is still in the room');
    return {};
  });

  // ---- state ----
  r.on('GET', `${C}/rooms/{roomId}/state`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = memberRoom(ctx.params.roomId!, who);
    return room.stateEvents().map((e) => clientEvent(e));
  });
  const getState = (ctx: RequestContext) => {
    const who = hs.authenticate(ctx);
    const room = memberRoom(ctx.params.roomId!, who);
    const e = room.getState(ctx.params.eventType!, ctx.params.stateKey ?? '');
    if (!e) throw notFound('Event not found.');
    return ctx.query.get('format') === 'event' ? clientEvent(e) : e.content;
  };
  const putState = (ctx: RequestContext) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    const type = ctx.params.eventType!;
    const content = ctx.body as Json;
    const violations = hs.checker.checkEventContent('PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', type, content);
    if (violations.length) { hs.recordViolations(violations); throw new MatrixError(400, 'M_BAD_JSON', violations.map((v) => v.message).join('; ')); }
    if (type === 'm.room.member') throw forbidden('Use the membership endpoints to change membership in this test homeserver');
    // Synapse (since 2019): a tombstone must point at another room.
    if (type === 'm.room.tombstone' && content.replacement_room === room.roomId) throw new MatrixError(400, 'M_UNKNOWN', 'Tombstone cannot reference the room it was sent in');
    if (type === 'm.room.canonical_alias' && typeof content.alias === 'string' && store.aliases.get(content.alias)?.roomId !== room.roomId) {
      throw new MatrixError(400, 'M_BAD_ALIAS', `${content.alias} does not point to this room`);
    }
    const e = store.send(room, { type, sender: who.userId, content, state_key: ctx.params.stateKey ?? '' });
    return { event_id: e.event_id };
  };
  r.on('GET', `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`, getState);
  r.on('GET', `${C}/rooms/{roomId}/state/{eventType}`, getState);
  r.on('PUT', `${C}/rooms/{roomId}/state/{eventType}/{stateKey}`, putState);
  r.on('PUT', `${C}/rooms/{roomId}/state/{eventType}`, putState);

  // ---- events ----
  r.on('PUT', `${C}/rooms/{roomId}/send/{eventType}/{txnId}`, (ctx) => {
    const who = hs.authenticate(ctx);
    const { roomId, eventType, txnId } = ctx.params as { roomId: string; eventType: string; txnId: string };
    const room = store.room(roomId);
    const content = ctx.body as Json;
    const known = store.txnEvent(who.token, who.userId, txnId);
    if (known) return { event_id: known };
    hs.sendFaults.check(who.userId, roomId, txnId, content);
    const violations = hs.checker.checkEventContent('PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', eventType, content);
    if (violations.length) { hs.recordViolations(violations); throw new MatrixError(400, 'M_BAD_JSON', violations.map((v) => v.message).join('; ')); }
    hs.checkRateLimit(who);
    const redacts = eventType === 'm.room.redaction' && typeof content.redacts === 'string' ? content.redacts : undefined;
    const e = store.send(room, { type: eventType, sender: who.userId, content, redacts, txn: { token: who.token, txnId } });
    return { event_id: e.event_id };
  });

  r.on('PUT', `${C}/rooms/{roomId}/redact/{eventId}/{txnId}`, (ctx) => {
    const who = hs.authenticate(ctx);
    const { roomId, eventId, txnId } = ctx.params as { roomId: string; eventId: string; txnId: string };
    const room = store.room(roomId);
    const known = store.txnEvent(who.token, who.userId, `redact:${txnId}`);
    if (known) return { event_id: known };
    const target = store.event(eventId);
    // Synapse accepts a redaction of an event it does not know (and checks it if the event arrives later); refusing is stricter.
    if (!target) throw notFound('Event not found');
    if (target.room !== room) throw new MatrixError(400, 'M_UNKNOWN', 'Cannot redact event from a different room');
    if (target.event.type === 'm.room.create') throw new MatrixError(403, 'M_FORBIDDEN', 'Redacting create events is not permitted');
    hs.redactFaults.check(who.userId, roomId, txnId, { redacts: eventId });
    // Redactions are events like any other: Synapse rate-limits them with messages.
    hs.checkRateLimit(who);
    const content: Json = {};
    const reason = (ctx.body as Json | undefined)?.reason;
    if (typeof reason === 'string') content.reason = reason;
    const e = store.send(room, { type: 'm.room.redaction', sender: who.userId, content, redacts: eventId, txn: { token: who.token, txnId: `redact:${txnId}` } });
    return { event_id: e.event_id };
  });

  r.on('GET', `${C}/rooms/{roomId}/event/{eventId}`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = memberRoom(ctx.params.roomId!, who);
    const found = store.event(ctx.params.eventId!);
    if (!found || found.room !== room || !store.visibleEvents(room, who.userId).includes(found.event)) throw notFound('Event not found.');
    return clientEvent(found.event, { token: who.token });
  });

  r.on('PUT', `${C}/rooms/{roomId}/typing/{userId}`, (ctx) => {
    const who = hs.authenticate(ctx);
    if (who.userId !== ctx.params.userId) throw forbidden('Cannot set another user\'s typing state');
    const room = store.room(ctx.params.roomId!);
    if (room.membership(who.userId) !== 'join') throw forbidden('User is not in the room');
    const body = ctx.body as { typing: boolean; timeout?: number };
    if (body.typing) room.typing.set(who.userId, Date.now() + Math.min(body.timeout ?? 30_000, 120_000));
    else room.typing.delete(who.userId);
    store.bump(room);
    hs.pushEphemeral(room, { type: 'm.typing', room_id: room.roomId, content: { user_ids: typingUsers(room) } });
    return {};
  });

  // ---- members ----
  r.on('GET', `${C}/rooms/{roomId}/members`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = memberRoom(ctx.params.roomId!, who);
    const only = ctx.query.get('membership');
    const not = ctx.query.get('not_membership');
    const chunk = room.stateEvents()
      .filter((e) => e.type === 'm.room.member' && (!only || e.content.membership === only) && (!not || e.content.membership !== not))
      .map((e) => clientEvent(e));
    return { chunk };
  });
  r.on('GET', `${C}/rooms/{roomId}/joined_members`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    if (room.membership(who.userId) !== 'join' && !who.appservice) throw forbidden('User is not in the room');
    const joined: Record<string, Json> = {};
    for (const userId of room.members('join')) {
      const c = room.getState('m.room.member', userId)!.content;
      joined[userId] = { ...(typeof c.displayname === 'string' ? { display_name: c.displayname } : {}), ...(typeof c.avatar_url === 'string' ? { avatar_url: c.avatar_url } : {}) };
    }
    return { joined };
  });
  r.on('GET', `${C}/joined_rooms`, (ctx) => {
    const who = hs.authenticate(ctx);
    return { joined_rooms: [...store.rooms.values()].filter((room) => room.membership(who.userId) === 'join').map((room) => room.roomId) };
  });

  // ---- directory ----
  r.on('GET', `${C}/directory/room/{roomAlias}`, async (ctx) => {
    const roomId = await resolveAlias(ctx.params.roomAlias!);
    if (!roomId) throw notFound(`Room alias ${ctx.params.roomAlias} not found`);
    return { room_id: roomId, servers: [hs.serverName] };
  });
  r.on('PUT', `${C}/directory/room/{roomAlias}`, (ctx) => {
    const who = hs.authenticate(ctx);
    const alias = ctx.params.roomAlias!;
    if (!alias.endsWith(`:${hs.serverName}`)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Room alias must be local');
    checkAliasNamespace(who, alias);
    const roomId = (ctx.body as { room_id: string }).room_id;
    store.room(roomId);
    if (store.aliases.has(alias)) throw new MatrixError(409, 'M_UNKNOWN', `Room alias ${alias} already exists`);
    store.aliases.set(alias, { roomId, creator: who.userId });
    return {};
  });
  r.on('DELETE', `${C}/directory/room/{roomAlias}`, (ctx) => {
    const who = hs.authenticate(ctx);
    const entry = store.aliases.get(ctx.params.roomAlias!);
    if (!entry) throw notFound('Alias not found');
    const room = store.rooms.get(entry.roomId);
    const admin = room && room.userLevel(who.userId) >= room.requiredLevel('m.room.canonical_alias', true);
    if (entry.creator !== who.userId && !admin) throw forbidden('You don\'t have permission to delete the alias.');
    store.aliases.delete(ctx.params.roomAlias!);
    return {};
  });
  r.on('GET', `${C}/rooms/{roomId}/aliases`, (ctx) => {
    const who = hs.authenticate(ctx);
    const room = memberRoom(ctx.params.roomId!, who);
    return { aliases: [...store.aliases.entries()].filter(([, v]) => v.roomId === room.roomId).map(([k]) => k) };
  });
}

export function typingUsers(room: Room): string[] {
  const now = Date.now();
  for (const [u, until] of room.typing) if (until < now) room.typing.delete(u);
  return [...room.typing.keys()];
}

function profileFields(hs: TestHomeserver, userId: string): Json {
  const u = hs.accounts.users.get(userId);
  const out: Json = {};
  if (u?.displayname !== undefined) out.displayname = u.displayname;
  if (u?.avatar_url !== undefined) out.avatar_url = u.avatar_url;
  return out;
}
