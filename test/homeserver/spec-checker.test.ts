import { describe, expect, it } from 'vitest';
import { SpecChecker, useTestHomeserver } from './index.ts';

const ctx = useTestHomeserver({ serverName: 'test.local' });

async function call(method: string, p: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(ctx.hs.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('test homeserver: spec checker self-test', () => {
  it('rejects a malformed request with 400 M_BAD_JSON and records the endpoint and schema path', async () => {
    const { hs } = ctx;
    const u = hs.admin.createUser('checker1');
    const res = await call('POST', '/_matrix/client/v3/createRoom', u.accessToken, { preset: 'everyone_welcome', invite: 'not-a-list' });
    expect(res.status).toBe(400);
    expect(res.body.errcode).toBe('M_BAD_JSON');
    expect(hs.rooms.rooms.size).toBe(0);
    // The test that caused it fails, naming endpoint and schema path.
    expect(() => hs.assertNoSpecViolations()).toThrow(/POST \/_matrix\/client\/v3\/createRoom.*create_room\.yaml#\/paths\/~1createRoom\/post\/requestBody/);
    expect(hs.violations).toHaveLength(0);
  });

  it('rejects event content the event schemas forbid (a message without a body)', async () => {
    const { hs } = ctx;
    const u = hs.admin.createUser('checker2');
    const room = await call('POST', '/_matrix/client/v3/createRoom', u.accessToken, {});
    const res = await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room.body.room_id as string)}/send/m.room.message/1`, u.accessToken, { msgtype: 'm.text' });
    expect(res).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    const v = hs.takeSpecViolations();
    expect(v.length).toBeGreaterThan(0);
    expect(v[0]!.endpoint).toBe('PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}');
    expect(v[0]!.schemaPath).toMatch(/^event-schemas\/schema\/m\.room\.message.*\.yaml#\/properties\/content/);
    expect(v[0]!.message).toMatch(/body/);
  });

  it('rejects malformed query parameters, and flags endpoints the spec does not define', async () => {
    const { hs } = ctx;
    const u = hs.admin.createUser('checker3');
    const res = await call('GET', '/_matrix/client/v3/sync?timeout=soon', u.accessToken);
    expect(res).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(hs.takeSpecViolations()[0]).toMatchObject({ kind: 'request', endpoint: 'GET /_matrix/client/v3/sync' });
    const unknown = await call('GET', '/_matrix/client/v3/not_a_thing', u.accessToken);
    expect(unknown).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(hs.takeSpecViolations()[0]).toMatchObject({ kind: 'unknown-endpoint', endpoint: 'GET /_matrix/client/v3/not_a_thing' });
    const notJson = await fetch(`${hs.url}/_matrix/client/v3/createRoom`, { method: 'POST', headers: { authorization: `Bearer ${u.accessToken}` }, body: '{nope' });
    expect(((await notJson.json()) as { errcode: string }).errcode).toBe('M_NOT_JSON');
  });

  it('catches a malformed response the homeserver sends', async () => {
    const { hs } = ctx;
    const u = hs.admin.createUser('checker4');
    hs.tamperWithNextResponse((body) => ({ ...(body as object), user_id: 42 }));
    const res = await call('GET', '/_matrix/client/v3/account/whoami', u.accessToken);
    expect(res.body.user_id).toBe(42);
    const v = hs.takeSpecViolations();
    expect(v).toContainEqual(expect.objectContaining({ kind: 'response', endpoint: 'GET /_matrix/client/v3/account/whoami', schemaPath: expect.stringContaining('whoami.yaml#/paths/~1account~1whoami/get/responses/200') }));
    // An error response must have the standard error shape too.
    hs.tamperWithNextResponse(() => ({ error: 'no errcode' }));
    await call('GET', '/_matrix/client/v3/account/whoami', 'bad-token');
    expect(hs.takeSpecViolations()).toContainEqual(expect.objectContaining({ kind: 'response', schemaPath: expect.stringContaining('responses/401'), message: expect.stringContaining('errcode') }));
  });

  it('checks pushed transactions and stored events against the event schemas', () => {
    const checker = SpecChecker.get();
    const found = checker.findOperation('PUT', '/_matrix/app/v1/transactions/7')!;
    const good = { events: [{ type: 'm.room.message', event_id: '$a', sender: '@a:test.local', room_id: '!r:test.local', origin_server_ts: 1, content: { msgtype: 'm.text', body: 'hi' } }] };
    expect(checker.checkRequestAny(found, new URLSearchParams(), good, 'application/json').violations).toEqual([]);
    const bad = { events: [{ type: 'm.room.message', sender: 'alice', content: {} }] };
    const v = checker.checkRequestAny(found, new URLSearchParams(), bad, 'application/json').violations;
    expect(v.map((x) => x.message).join('\n')).toMatch(/event_id[\s\S]*room_id/);
    expect(v[0]!.endpoint).toBe('PUT /_matrix/app/v1/transactions/{txnId}');
    const eventViolations = checker.checkEvent('push', { ...good.events[0]!, content: { msgtype: 'm.text' } });
    expect(eventViolations[0]!.schemaPath).toContain('event-schemas/schema/m.room.message');
  });
});
