/**
 * The linking service against real PostgreSQL (and PGlite) and real Redis,
 * without a homeserver: what replicas share (lockouts), what one token can
 * do (link once, one account, cancelled after failures), concurrent
 * redemption, and accounts created with a link in one transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { Database } from '../../src/db/client.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { IdentityChange } from '../../src/identity/identity-events.ts';
import { LinkChannels } from '../../src/identity/link-channels.ts';
import { testLinkChannel } from '../support/link-channel.ts';
import { createLinking, type Linking } from '../../src/identity/linking.ts';
import { createLogger } from '../../src/logging.ts';
import { connectValkey, type Redis } from '../../src/valkey/client.ts';
import { createPgDatabase, createPgliteDatabase, redisPrefix } from '../support/databases.ts';
import { TEST_REDIS_URL } from '../support/global-setup.ts';

const chat = testLinkChannel;

interface Replica {
  linking: Linking;
  valkey: Redis;
  changes: IdentityChange[];
}

let database: Database;
let accounts: AccountService;
const prefix = redisPrefix('linking');
const replicas: Replica[] = [];
const config = parseConfig({ valkey: { keyPrefix: prefix }, linking: { maxFailedAttempts: 3, lockoutMinutes: 10 } });

async function replica(db: Database = database): Promise<Replica> {
  const valkey = await connectValkey(TEST_REDIS_URL);
  const changes: IdentityChange[] = [];
  const channels = new LinkChannels();
  channels.register(chat);
  const linking = createLinking({ config, db: db.db, valkey, accounts: new AccountService(db.db), logger: createLogger('silent'), channels, publish: async (c) => void changes.push(c) });
  const r = { linking, valkey, changes };
  replicas.push(r);
  return r;
}

const userId = async (name: string) => (await accounts.users.findByUsername(name))!.id;

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  accounts = new AccountService(database.db);
  for (const name of ['ann', 'ben', 'cal']) await accounts.createUser({ username: name });
});
afterAll(async () => {
  for (const r of replicas) await r.valkey.quit();
  await database.close();
});

describe('the linking service', () => {
  it('a lockout earned on one replica holds on another (Valkey)', async () => {
    const a = await replica();
    const b = await replica();
    const who = { channel: 'matrix', channelUserId: '@locked:example.org' };
    for (let i = 0; i < 2; i++) expect(await a.linking.links.redeemToken({ ...who, token: 'nope' })).toMatchObject({ ok: false, reason: 'malformed', lockedForSeconds: 0 });
    const third = await b.linking.links.redeemToken({ ...who, token: 'nope' });
    expect(third).toMatchObject({ ok: false, reason: 'malformed' });
    if (third.ok) throw new Error('unreachable');
    expect(third.lockedForSeconds).toBeGreaterThan(9 * 60);
    expect(third.lockedForSeconds).toBeLessThanOrEqual(10 * 60);
    const ann = { userId: await userId('ann'), username: 'ann', role: 'member' as const };
    const { token } = await a.linking.links.issueToken(ann, { channel: 'matrix' });
    expect(await a.linking.links.redeemToken({ ...who, token })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await a.linking.links.ownerOf('matrix', who.channelUserId)).toBeNull();
    // Another chat account is not affected.
    expect(await b.linking.links.redeemToken({ channel: 'matrix', channelUserId: '@free:example.org', token })).toMatchObject({ ok: true, outcome: 'linked', username: 'ann' });
  });

  it('a token presented in failing ways too often is cancelled, even for its rightful user', async () => {
    const r = await replica();
    const ben = { userId: await userId('ben'), username: 'ben', role: 'member' as const };
    const { token } = await r.linking.links.issueToken(ben, { channel: 'matrix' });
    // Three people already linked elsewhere try Ben's token.
    for (const [i, name] of ['x1', 'x2', 'x3'].entries()) {
      await r.linking.links.identities.link('matrix', `@${name}:example.org`, await userId('cal'));
      const result = await r.linking.links.redeemToken({ channel: 'matrix', channelUserId: `@${name}:example.org`, token });
      expect(result).toMatchObject({ ok: false, reason: 'linked_elsewhere', username: 'cal', tokenCancelled: i === 2 });
    }
    expect(await r.linking.links.redeemToken({ channel: 'matrix', channelUserId: '@ben:example.org', token })).toMatchObject({ ok: false, reason: 'token_locked', tokenCancelled: true });
    expect(await r.linking.links.ownerOf('matrix', '@ben:example.org')).toBeNull();
  });

  it('of many redeeming one token at once, exactly one is linked', async () => {
    const r = await replica();
    const others = await Promise.all([0, 1, 2].map(() => replica()));
    const cal = { userId: await userId('cal'), username: 'cal', role: 'member' as const };
    const { token } = await r.linking.links.issueToken(cal, { channel: 'matrix' });
    const results = await Promise.all(others.map((o, i) => o.linking.links.redeemToken({ channel: 'matrix', channelUserId: `@race${i}:example.org`, token })));
    expect(results.filter((x) => x.ok)).toHaveLength(1);
    expect(results.filter((x) => !x.ok).map((x) => !x.ok && x.reason)).toEqual(['used', 'used']);
    const linked = (await r.linking.links.listLinks(cal)).filter((l) => l.channelUserId.startsWith('@race'));
    expect(linked).toHaveLength(1);
    // Announced once, by the replica that linked.
    expect(others.flatMap((o) => o.changes).filter((c) => c.channelUserId.startsWith('@race'))).toMatchObject([{ change: 'linked', via: 'token', userId: cal.userId }]);
  });

  it('members may only ask for their own tokens; admins for anyone; a disabled account gets none', async () => {
    const r = await replica();
    const ann = { userId: await userId('ann'), username: 'ann', role: 'member' as const };
    await expect(r.linking.links.issueToken(ann, { channel: 'matrix', username: 'ben' })).rejects.toMatchObject({ httpStatus: 403 });
    await expect(r.linking.links.issueToken(ann, { channel: 'telegram' })).rejects.toMatchObject({ httpStatus: 400 });
    const root = { userId: ann.userId, username: 'root', role: 'admin' as const };
    expect((await r.linking.links.issueToken(root, { channel: 'matrix', username: 'ben' })).username).toBe('ben');
    await expect(r.linking.links.issueToken(root, { channel: 'matrix', username: 'nobody' })).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('an account gets a bounded number of tokens per window (each is a live secret in Valkey)', async () => {
    const r = await replica();
    await accounts.createUser({ username: 'eve' });
    const eve = { userId: await userId('eve'), username: 'eve', role: 'member' as const };
    // The limit is twice linking.maxFailedAttempts (3 here) per window.
    for (let i = 0; i < 6; i++) await r.linking.links.issueToken(eve, { channel: 'matrix' });
    await expect(r.linking.links.issueToken(eve, { channel: 'matrix' })).rejects.toMatchObject({ httpStatus: 429, code: 'rate_limited', message: expect.stringContaining('try again in 10 minute(s)') });
    // Others are not affected.
    const ann = { userId: await userId('ann'), username: 'ann', role: 'member' as const };
    expect((await r.linking.links.issueToken(ann, { channel: 'matrix' })).username).toBe('ann');
  });
});

describe('cost', () => {
  it('a redeem is a fixed handful of Valkey commands (never a scan)', async () => {
    const r = await replica();
    const commands: string[] = [];
    const original = r.valkey.sendCommand.bind(r.valkey);
    r.valkey.sendCommand = ((command: { name: string }) => {
      commands.push(command.name);
      return original(command as never);
    }) as typeof r.valkey.sendCommand;
    const ann = { userId: await userId('ann'), username: 'ann', role: 'member' as const };
    const { token } = await r.linking.links.issueToken(ann, { channel: 'matrix' });
    commands.length = 0;
    expect(await r.linking.links.redeemToken({ channel: 'matrix', channelUserId: '@cost:example.org', token })).toMatchObject({ ok: true });
    const success = [...commands];
    commands.length = 0;
    expect(await r.linking.links.redeemToken({ channel: 'matrix', channelUserId: '@cost2:example.org', token })).toMatchObject({ ok: false, reason: 'used' });
    const failure = [...commands];
    expect(success).toEqual(['multi', 'get', 'pttl', 'exec', 'multi', 'get', 'pttl', 'exec', 'get', 'getdel', 'set', 'del']);
    expect(failure.filter((c) => c === 'scan' || c === 'keys')).toEqual([]);
    expect(failure.length).toBe(19);
  });
});

describe('without a chat channel', () => {
  it('nothing can be linked, and the error says how to enable one', async () => {
    const valkey = await connectValkey(TEST_REDIS_URL);
    try {
      const { links } = createLinking({ config, db: database.db, valkey, accounts, logger: createLogger('silent'), publish: async () => undefined });
      const ann = { userId: await userId('ann'), username: 'ann', role: 'member' as const };
      await expect(links.issueToken(ann, { channel: 'matrix' })).rejects.toMatchObject({ httpStatus: 400, message: expect.stringContaining('MATRIX_ENABLED') });
      await expect(links.createAccountWithLink({ username: 'fay' }, { channel: 'matrix', channelUserId: '@fay:example.org' }, 'test')).rejects.toMatchObject({ httpStatus: 400 });
      expect(await accounts.users.findByUsername('fay')).toBeNull();
    } finally {
      await valkey.quit();
    }
  });
});

describe('accounts created with a link', () => {
  for (const kind of ['postgres', 'pglite'] as const) {
    it(`are all or nothing (${kind})`, async () => {
      const db = kind === 'postgres' ? database : await createPgliteDatabase();
      try {
        const r = await replica(db);
        const created = await r.linking.links.createAccountWithLink({ username: 'dee' }, { channel: 'matrix', channelUserId: '@dee:example.org' }, 'test');
        expect(created.user.username).toBe('dee');
        expect((await r.linking.links.ownerOf('matrix', '@dee:example.org'))?.username).toBe('dee');
        expect(r.changes.at(-1)).toMatchObject({ change: 'linked', via: 'account-created', channelUserId: '@dee:example.org' });
        // The id is taken: the second account is not created either.
        await expect(r.linking.links.createAccountWithLink({ username: 'dee2' }, { channel: 'matrix', channelUserId: '@dee:example.org' }, 'test')).rejects.toMatchObject({ httpStatus: 409 });
        expect(await new AccountService(db.db).users.findByUsername('dee2')).toBeNull();
        // The username is taken: no link is made.
        await expect(r.linking.links.createAccountWithLink({ username: 'dee' }, { channel: 'matrix', channelUserId: '@dee-two:example.org' }, 'test')).rejects.toMatchObject({ httpStatus: 409 });
        expect(await r.linking.links.ownerOf('matrix', '@dee-two:example.org')).toBeNull();
        await expect(r.linking.links.createAccountWithLink({ username: 'dee3' }, { channel: 'matrix', channelUserId: 'dee' }, 'test')).rejects.toMatchObject({ httpStatus: 400 });
      } finally {
        if (kind === 'pglite') await db.close();
      }
    });
  }
});
