/**
 * What an attacker sends to the REST API, route by route. Every route of
 * the app needs at least one case here (rest.test.ts checks it against the
 * router's own table). `finding` names the numbered finding of issue 12 a
 * case reproduces; each of those failed before the fix.
 */
import { expect } from 'vitest';
import type { AttackCase } from './attack.ts';

export interface RestFixtures {
  aliceConversation: string;
  bobConversation: string;
  aliceMessage: string;
  aliceClientMessageId: string;
  /** Alice's private agents "helper" and "other". */
  aliceAgent: string;
  aliceOtherAgent: string;
  bobAgent: string;
  aliceRule: string;
  aliceCredential: string;
  aliceTokenId: string;
  aliceToken: string;
  /** Alice's linked Matrix id. */
  aliceMatrixId: string;
  /** A live browser link state (bound to @visitor:example.org). */
  linkState: string;
  /** Alice's web session: its cookie (name=value) and CSRF token. */
  aliceSessionCookie: string;
  aliceCsrf: string;
  /** The gateway's own origin (what our page sends as Origin). */
  origin: string;
  /** Alice's team (Bob is not in it) and Bob's team (Alice is not in it). */
  aliceTeam: string;
  bobTeam: string;
  /** Alice's conversation shared with her team (so not with Bob). */
  aliceSharedConversation: string;
  /** One of Alice's memories. */
  aliceMemory: string;
}

const NUL = '\u0000';
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const unknownJob = Buffer.from('mosaic:session-gc\u0000999999').toString('base64url');

type Case = AttackCase<RestFixtures>;

const nobody = '00000000-0000-4000-8000-00000000dead';

/** Retention (#20): the admin policy routes, a person's own limit, memories. */
const RETENTION_CASES: Case[] = [
  { name: 'retention policies without a token', route: 'GET /api/admin/retention', as: 'none', request: () => ({ method: 'GET', path: '/api/admin/retention' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a member reading the retention policies is 403', route: 'GET /api/admin/retention', as: 'bob', request: () => ({ method: 'GET', path: '/api/admin/retention' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'a retention lookup for a conversation id that is not a uuid is 400', route: 'GET /api/admin/retention', as: 'admin', request: () => ({ method: 'GET', path: `/api/admin/retention?conversationId=${encodeURIComponent("1' or '1'='1")}` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a retention lookup for an unknown conversation is 404', route: 'GET /api/admin/retention', as: 'admin', request: () => ({ method: 'GET', path: `/api/admin/retention?conversationId=${nobody}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'a member setting a retention policy is 403', route: 'PUT /api/admin/retention', as: 'bob', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'kind', kind: 'personal', days: 1 } }), expect: { status: 403, code: 'forbidden' } },
  { name: 'an unknown room kind is 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'kind', kind: 'audit', days: 1 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'zero days is 400 (null keeps forever)', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'kind', kind: 'personal', days: 0 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'negative days are 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'kind', kind: 'personal', days: -30 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'fractional days are 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', raw: '{"scope":"kind","kind":"personal","days":1.5}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'days beyond any date a database holds are 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', raw: '{"scope":"kind","kind":"personal","days":1e300}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'days as a string are 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'kind', kind: 'personal', days: '30' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a retention body without a scope is 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { kind: 'personal', days: 1 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an unknown key (__proto__) in a retention body is 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', raw: '{"scope":"kind","kind":"personal","days":1,"__proto__":{"admin":true}}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a retention override for an unknown conversation is 404', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'conversation', conversationId: nobody, days: 1 } }), expect: { status: 404, code: 'not_found' } },
  { name: 'a retention override for a conversation id that is not a uuid is 400', route: 'PUT /api/admin/retention', as: 'admin', request: () => ({ method: 'PUT', path: '/api/admin/retention', body: { scope: 'conversation', conversationId: '../../etc/passwd', days: 1 } }), expect: { status: 400, code: 'bad_request' } },
  { name: "shortening another user's conversation's retention is 404", route: 'PATCH /api/conversations/:id', as: 'bob', request: (f) => ({ method: 'PATCH', path: `/api/conversations/${f.aliceConversation}`, body: { retentionDays: 1 } }), expect: { status: 404, code: 'not_found' } },
  { name: 'an own retention of 0 days is 400', route: 'PATCH /api/conversations/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/conversations/${f.aliceConversation}`, body: { retentionDays: 0 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an own retention given as a word is 400', route: 'PATCH /api/conversations/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/conversations/${f.aliceConversation}`, body: { retentionDays: 'forever' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'memories without a token', route: 'GET /api/memories', as: 'none', request: () => ({ method: 'GET', path: '/api/memories' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a memory page of 0 is 400', route: 'GET /api/memories', as: 'alice', request: () => ({ method: 'GET', path: '/api/memories?limit=0' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an unknown memory query parameter is 400', route: 'GET /api/memories', as: 'alice', request: () => ({ method: 'GET', path: '/api/memories?userId=x' }), expect: { status: 400, code: 'bad_request' } },
  { name: "another user's memories are not listed", route: 'GET /api/memories', as: 'bob', request: () => ({ method: 'GET', path: '/api/memories' }), expect: { status: 200 }, then: (f, res) => expect(res.text).not.toContain(f.aliceMemory) },
  { name: "another user's memory is 404", route: 'GET /api/memories/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/memories/${f.aliceMemory}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'a memory id that is not a uuid is 400', route: 'GET /api/memories/:id', as: 'alice', request: () => ({ method: 'GET', path: '/api/memories/1%27%20or%201=1' }), expect: { status: 400, code: 'bad_request' } },
  { name: "deleting another user's memory is 404", route: 'DELETE /api/memories/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/memories/${f.aliceMemory}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'deleting an unknown memory is 404', route: 'DELETE /api/memories/:id', as: 'alice', request: () => ({ method: 'DELETE', path: `/api/memories/${nobody}` }), expect: { status: 404, code: 'not_found' } },
];

export const REST_CASES: Case[] = [
  ...RETENTION_CASES,
  // ---- the edge: before any route ---------------------------------------------------------
  { name: 'an unknown path is 404 in the error shape', route: 'unmatched', as: 'alice', request: () => ({ method: 'GET', path: `/api/${'x'.repeat(3000)}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'a 20,000-character query string is 431 in the error shape, not a bare status', finding: 9, route: 'unmatched', as: 'alice', request: () => ({ method: 'GET', path: `/api/conversations?q=${'a'.repeat(20_000)}` }), expect: { status: 431, code: 'headers_too_large' } },
  { name: 'a NUL in the path is 400', route: 'unmatched', as: 'alice', request: () => ({ method: 'GET', path: '/api/conversations/%00' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a request without a token gets 401 with WWW-Authenticate: Bearer', finding: 11, route: 'GET /api/me', as: 'none', request: () => ({ method: 'GET', path: '/api/me' }), expect: { status: 401, code: 'unauthorized', headers: { 'www-authenticate': /^Bearer realm="mosaic"$/ } } },
  { name: 'a wrong token gets 401 with WWW-Authenticate: Bearer error="invalid_token"', finding: 11, route: 'GET /api/tokens', as: 'none', request: () => ({ method: 'GET', path: '/api/tokens', headers: { authorization: 'Bearer mos_not-a-token' } }), expect: { status: 401, code: 'unauthorized', headers: { 'www-authenticate': /invalid_token/ } } },
  { name: 'the Authorization scheme is case-insensitive ("bearer"; the REST API already was, the appservice was not)', route: 'GET /api/me', as: 'none', request: (f) => ({ method: 'GET', path: '/api/me', headers: { authorization: `bearer ${f.aliceToken}` } }), expect: { status: 200 } },
  { name: 'GET /healthz with a NUL in the query string is 400', route: 'GET /healthz', as: 'none', request: () => ({ method: 'GET', path: '/healthz?x=%00' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a method a path does not have is 405 with Allow', route: 'GET /readyz', as: 'none', request: () => ({ method: 'DELETE', path: '/readyz' }), expect: { status: 405, code: 'method_not_allowed', headers: { allow: /GET/ } } },
  { name: 'metrics are not served on the API port', finding: 2, route: 'unmatched', as: 'none', request: () => ({ method: 'GET', path: '/metrics' }), expect: { status: 404, code: 'not_found' } },
  { name: 'a body over the size limit is 413 in the error shape', route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', body: { title: 'x'.repeat(2_000_000) } }), expect: { status: 413, code: 'payload_too_large' } },
  { name: 'JSON nested 10,000 levels is refused before any route reads it', route: 'POST /api/routing/explain', as: 'alice', request: () => ({ method: 'POST', path: '/api/routing/explain', raw: `{"text":"hi","attachments":${deep(10_000)}}` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'broken JSON is 400 invalid_json', route: 'PATCH /api/me', as: 'alice', request: () => ({ method: 'PATCH', path: '/api/me', raw: '{"localOnly": tru' }), expect: { status: 400, code: 'invalid_json' } },

  // ---- bodies that are not JSON (finding 8) ------------------------------------------------
  { name: 'JSON sent as text/plain does not create a conversation with defaults', finding: 8, route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', raw: '{"title":"x"}', contentType: 'text/plain' }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a form-encoded body to POST /api/conversations is 415', finding: 8, route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', raw: 'title=x', contentType: 'application/x-www-form-urlencoded' }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a body without a Content-Type to POST /api/conversations is 415', finding: 8, route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', raw: '{"title":"x"}', contentType: null }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'JSON sent as text/plain does not issue a token', finding: 8, route: 'POST /api/tokens', as: 'alice', request: () => ({ method: 'POST', path: '/api/tokens', raw: '{"name":"x"}', contentType: 'text/plain' }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a body without a Content-Type to POST /api/tokens is 415', finding: 8, route: 'POST /api/tokens', as: 'alice', request: () => ({ method: 'POST', path: '/api/tokens', raw: '{}', contentType: null }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a form-encoded body to PATCH /api/me is 415', route: 'PATCH /api/me', as: 'alice', request: () => ({ method: 'PATCH', path: '/api/me', raw: 'localOnly=true', contentType: 'application/x-www-form-urlencoded' }), expect: { status: 415, code: 'unsupported_media_type' } },

  // ---- text the database cannot store, and numbers out of range (finding 6) ----------------
  { name: 'NUL in a conversation title (create)', finding: 6, route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', body: { title: `a${NUL}b` } }), expect: { status: 400, code: 'bad_request' }, then: (_f, res) => void expect((res.json as { error: { details: { field: string } } }).error.details.field).toBe('body.title') },
  { name: 'a lone surrogate in a conversation title', route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', raw: '{"title":"a\\ud800b"}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in a conversation title (PATCH)', finding: 6, route: 'PATCH /api/conversations/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/conversations/${f.aliceConversation}`, body: { title: NUL } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in message content', finding: 6, route: 'POST /api/conversations/:id/messages', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/messages`, body: { content: `hello${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in a clientMessageId', finding: 6, route: 'POST /api/conversations/:id/messages', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/messages`, body: { content: 'hello', clientMessageId: `id${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  { name: "NUL in an agent's system prompt", finding: 6, route: 'POST /api/agents', as: 'alice', request: () => ({ method: 'POST', path: '/api/agents', body: { name: 'nul-agent', systemPrompt: `be${NUL}nice` } }), expect: { status: 400, code: 'bad_request' } },
  { name: "NUL in an admin-created user's display name", finding: 6, route: 'POST /api/admin/users', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users', body: { username: 'mallory', displayName: `M${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in the search query', finding: 6, route: 'GET /api/conversations/search', as: 'alice', request: () => ({ method: 'GET', path: '/api/conversations/search?q=a%00b' }), expect: { status: 400, code: 'bad_request' } },
  { name: '/api/usage?since= far outside the dates a database holds', finding: 6, route: 'GET /api/usage', as: 'alice', request: () => ({ method: 'GET', path: '/api/usage?since=-200000-01-01' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an agent reference of 36 hex digits on create is an unknown agent (404), not a cast error', finding: 6, route: 'POST /api/conversations', as: 'alice', request: () => ({ method: 'POST', path: '/api/conversations', body: { agent: 'a'.repeat(36) } }), expect: { status: 404, code: 'agent_unknown' } },
  {
    name: 'an agent reference of 36 hex digits in !agent answers as a command (the message is stored, no 500)',
    finding: 6,
    route: 'POST /api/conversations/:id/messages',
    as: 'alice',
    request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/messages`, body: { content: `!agent ${'b'.repeat(36)}` } }),
    expect: { status: 202 },
    changes: 'a command message and its notice are stored, as for any command',
    then: (_f, res) => void expect((res.json as { command: { text: string } }).command.text).toMatch(/no agent named/),
  },
  { name: 'renaming an agent to the name of another of the same user is 409', finding: 6, route: 'PATCH /api/agents/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/agents/${f.aliceOtherAgent}`, body: { name: 'helper' } }), expect: { status: 409, code: 'conflict' } },
  { name: "delegatesTo naming another user's agent by id is 400 and changes nothing", route: 'POST /api/agents', as: 'bob', request: (f) => ({ method: 'POST', path: '/api/agents', body: { name: 'sneaky', systemPrompt: 'p', delegatesTo: [f.aliceAgent] } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'delegatesTo that is not a list of names is 400', route: 'PATCH /api/agents/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/agents/${f.aliceOtherAgent}`, body: { delegatesTo: 'helper' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'delegatesTo with an over-long name is 400', route: 'PATCH /api/agents/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/agents/${f.aliceOtherAgent}`, body: { delegatesTo: ['x'.repeat(10_000)] } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an agent delegating to itself is 400', route: 'PATCH /api/agents/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/agents/${f.aliceOtherAgent}`, body: { delegatesTo: [f.aliceOtherAgent] } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a budget of 1e309 (Infinity once parsed) is 400', route: 'PATCH /api/me', as: 'alice', request: () => ({ method: 'PATCH', path: '/api/me', raw: '{"monthlyBudgetUsd":1e309}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'message content over the limit is 400', route: 'POST /api/conversations/:id/messages', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/messages`, body: { content: 'x'.repeat(100_001) } }), expect: { status: 400, code: 'bad_request' } },

  // ---- references across users (finding 7) -------------------------------------------------
  { name: "replyToId pointing at another user's message is not found", finding: 7, route: 'POST /api/conversations/:id/messages', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.bobConversation}/messages`, body: { content: 'hi', replyToId: f.aliceMessage } }), expect: { status: 404, code: 'not_found' } },
  {
    name: "a clientMessageId another user already used is this user's own (unique per user, nothing probed)",
    finding: 7,
    route: 'POST /api/conversations/:id/messages',
    as: 'bob',
    request: (f) => ({ method: 'POST', path: `/api/conversations/${f.bobConversation}/messages`, body: { content: 'mine', clientMessageId: f.aliceClientMessageId } }),
    expect: { status: 202 },
    changes: "Bob's own message is stored and answered",
    then: (f, res) => {
      const body = res.json as { messageId: string; duplicate: boolean };
      expect(body.duplicate).toBe(false);
      expect(body.messageId).not.toBe(f.aliceMessage);
    },
  },
  { name: "a routing rule naming another user's private agent (agentConfigId) is not found", finding: 7, route: 'POST /api/routing/rules', as: 'bob', request: (f) => ({ method: 'POST', path: '/api/routing/rules', body: { name: 'steal', action: { routeTo: { provider: 'ollama', model: 'llama3.2', agentConfigId: f.aliceAgent } } } }), expect: { status: 404, code: 'not_found' } },
  { name: "a rule updated to name another user's private agent is not found", finding: 7, route: 'PATCH /api/routing/rules/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/routing/rules/${f.aliceRule}`, body: { action: { routeTo: { provider: 'ollama', model: 'llama3.2', agentConfigId: f.bobAgent } } } }), expect: { status: 404, code: 'not_found' } },
  { name: 'a system rule may not name a private agent (an admin neither)', route: 'POST /api/routing/rules', as: 'admin', request: (f) => ({ method: 'POST', path: '/api/routing/rules', body: { name: 'sys', scope: 'system', action: { routeTo: { provider: 'ollama', model: 'llama3.2', agentConfigId: f.aliceAgent } } } }), expect: { status: 404, code: 'not_found' } },

  // ---- another user's objects are not found ------------------------------------------------
  { name: "another user's conversation", route: 'GET /api/conversations/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}` }), expect: { status: 404, code: 'not_found' } },
  { name: "PATCH another user's conversation", route: 'PATCH /api/conversations/:id', as: 'bob', request: (f) => ({ method: 'PATCH', path: `/api/conversations/${f.aliceConversation}`, body: { title: 'mine now' } }), expect: { status: 404, code: 'not_found' } },
  { name: "DELETE another user's conversation", route: 'DELETE /api/conversations/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/conversations/${f.aliceConversation}` }), expect: { status: 404, code: 'not_found' } },
  { name: "another user's messages", route: 'GET /api/conversations/:id/messages', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/messages` }), expect: { status: 404, code: 'not_found' } },
  { name: "another user's session", route: 'GET /api/conversations/:id/session', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/session` }), expect: { status: 404, code: 'not_found' } },
  { name: "posting into another user's conversation", route: 'POST /api/conversations/:id/messages', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/messages`, body: { content: 'hi' } }), expect: { status: 404, code: 'not_found' } },
  { name: "another user's agent", route: 'GET /api/agents/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/agents/${f.aliceAgent}` }), expect: { status: 404, code: 'not_found' } },
  { name: "DELETE another user's agent", route: 'DELETE /api/agents/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/agents/${f.aliceAgent}` }), expect: { status: 404, code: 'not_found' } },
  { name: "another user's rule", route: 'GET /api/routing/rules/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/routing/rules/${f.aliceRule}` }), expect: { status: 404, code: 'not_found' } },
  { name: "DELETE another user's rule", route: 'DELETE /api/routing/rules/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/routing/rules/${f.aliceRule}` }), expect: { status: 404, code: 'not_found' } },
  { name: "disabling another user's rule", route: 'POST /api/routing/rules/:id/disable', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/routing/rules/${f.aliceRule}/disable` }), expect: { status: 404, code: 'not_found' } },
  { name: "enabling another user's rule", route: 'POST /api/routing/rules/:id/enable', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/routing/rules/${f.aliceRule}/enable` }), expect: { status: 404, code: 'not_found' } },
  { name: "reordering with another user's rule", route: 'POST /api/routing/rules/reorder', as: 'bob', request: (f) => ({ method: 'POST', path: '/api/routing/rules/reorder', body: { ids: [f.aliceRule] } }), expect: { status: 400, code: 'bad_request' } },
  { name: "another user's credential", route: 'GET /api/providers/credentials/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/providers/credentials/${f.aliceCredential}` }), expect: { status: 404, code: 'not_found' } },
  { name: "PATCH another user's credential", route: 'PATCH /api/providers/credentials/:id', as: 'bob', request: (f) => ({ method: 'PATCH', path: `/api/providers/credentials/${f.aliceCredential}`, body: { label: 'mine' } }), expect: { status: 404, code: 'not_found' } },
  { name: "DELETE another user's credential", route: 'DELETE /api/providers/credentials/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/providers/credentials/${f.aliceCredential}` }), expect: { status: 404, code: 'not_found' } },
  { name: "revoking another user's token", route: 'DELETE /api/tokens/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/tokens/${f.aliceTokenId}` }), expect: { status: 404, code: 'not_found' } },

  // ---- teams and sharing ----------------------------------------------------------------------
  { name: 'a team slug with a NUL', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: `a${NUL}b` } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team slug that is a path', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: '../admin' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team slug that is a uuid-looking SQL string', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: "x' or '1'='1" } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team with an unknown field', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: 'extra', members: ['bob'] } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team budget below zero', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: 'negative', monthlyBudgetUsd: -1 } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team budget of 1e300', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', raw: '{"slug":"huge","monthlyBudgetUsd":1e300}' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team name of whitespace only', route: 'POST /api/teams', as: 'alice', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: 'blank', name: '   ' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team slug taken by a team the caller cannot see is a conflict, nothing more', route: 'POST /api/teams', as: 'bob', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: 'alice-team' } }), expect: { status: 409, code: 'conflict' } },
  { name: 'a member creating a team in another user\'s name', route: 'POST /api/teams', as: 'bob', request: () => ({ method: 'POST', path: '/api/teams', body: { slug: 'bobs-for-alice', owner: 'alice' } }), expect: { status: 403, code: 'forbidden' } },
  {
    name: 'all=true from a member lists only their own teams',
    route: 'GET /api/teams',
    as: 'bob',
    request: () => ({ method: 'GET', path: '/api/teams?all=true' }),
    expect: { status: 200 },
    then: (f, res) => void expect((res.json as { items: Array<{ id: string }> }).items.map((t) => t.id)).toEqual([f.bobTeam]),
  },
  { name: "another user's team by id", route: 'GET /api/teams/:id', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/teams/${f.aliceTeam}` }), expect: { status: 404, code: 'not_found' } },
  { name: "another user's team by slug", route: 'GET /api/teams/:id', as: 'bob', request: () => ({ method: 'GET', path: '/api/teams/alice-team' }), expect: { status: 404, code: 'not_found' } },
  { name: 'a team ref with a NUL', route: 'GET /api/teams/:id', as: 'alice', request: () => ({ method: 'GET', path: '/api/teams/a%00b' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a team ref with quotes and spaces', route: 'GET /api/teams/:id', as: 'alice', request: () => ({ method: 'GET', path: "/api/teams/x'%20or%201=1" }), expect: { status: 400, code: 'bad_request' } },
  { name: "renaming another user's team", route: 'PATCH /api/teams/:id', as: 'bob', request: (f) => ({ method: 'PATCH', path: `/api/teams/${f.aliceTeam}`, body: { name: 'mine now' } }), expect: { status: 404, code: 'not_found' } },
  { name: 'a NUL in a team name', route: 'PATCH /api/teams/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/teams/${f.aliceTeam}`, body: { name: `a${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  { name: "deleting another user's team", route: 'DELETE /api/teams/:id', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/teams/${f.aliceTeam}` }), expect: { status: 404, code: 'not_found' } },
  { name: "joining another user's team", route: 'POST /api/teams/:id/members', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/teams/${f.aliceTeam}/members`, body: { username: 'bob', role: 'owner' } }), expect: { status: 404, code: 'not_found' } },
  { name: 'adding an unknown user', route: 'POST /api/teams/:id/members', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/teams/${f.aliceTeam}/members`, body: { username: 'nobody-here' } }), expect: { status: 404, code: 'not_found' } },
  { name: 'a role that does not exist', route: 'POST /api/teams/:id/members', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/teams/${f.aliceTeam}/members`, body: { username: 'bob', role: 'admin' } }), expect: { status: 400, code: 'bad_request' } },
  { name: "removing a member of another user's team", route: 'DELETE /api/teams/:id/members/:username', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/teams/${f.aliceTeam}/members/alice` }), expect: { status: 404, code: 'not_found' } },
  { name: 'the last owner removing herself', route: 'DELETE /api/teams/:id/members/:username', as: 'alice', request: (f) => ({ method: 'DELETE', path: `/api/teams/${f.aliceTeam}/members/alice` }), expect: { status: 409, code: 'conflict' } },
  { name: "sharing another user's conversation with one's own team", route: 'POST /api/conversations/:id/share', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/share`, body: { teamId: f.bobTeam } }), expect: { status: 404, code: 'not_found' } },
  { name: 'sharing with a team one is not in', route: 'POST /api/conversations/:id/share', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/share`, body: { teamId: f.bobTeam } }), expect: { status: 404, code: 'not_found' } },
  { name: 'sharing with a team ref carrying a NUL', route: 'POST /api/conversations/:id/share', as: 'alice', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceConversation}/share`, body: { teamId: `alice-team${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'posting into a conversation shared with a team one is not in', route: 'POST /api/conversations/:id/messages', as: 'bob', request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceSharedConversation}/messages`, body: { content: 'let me in' } }), expect: { status: 404, code: 'not_found' } },
  {
    name: 'waiting for an answer in a conversation shared with a team one is not in',
    route: 'POST /api/conversations/:id/messages',
    as: 'bob',
    request: (f) => ({ method: 'POST', path: `/api/conversations/${f.aliceSharedConversation}/messages?wait=true`, body: { content: 'let me in', clientMessageId: 'alice-cm-1' } }),
    expect: { status: 404, code: 'not_found' },
  },
  { name: "unsharing another user's conversation", route: 'DELETE /api/conversations/:id/share', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/conversations/${f.aliceConversation}/share` }), expect: { status: 404, code: 'not_found' } },

  // ---- user base URLs (finding 3) ----------------------------------------------------------
  { name: 'a base URL with a stored key is refused while the admin has not allowed them', finding: 3, route: 'POST /api/providers/credentials', as: 'alice', request: () => ({ method: 'POST', path: '/api/providers/credentials', body: { provider: 'openai', apiKey: 'sk-own', baseUrl: 'http://127.0.0.1:1/v1' } }), expect: { status: 400, code: 'base_url_refused' } },
  { name: 'a base URL added later is refused too (cloud metadata address)', finding: 3, route: 'PATCH /api/providers/credentials/:id', as: 'alice', request: (f) => ({ method: 'PATCH', path: `/api/providers/credentials/${f.aliceCredential}`, body: { baseUrl: 'http://169.254.169.254/latest' } }), expect: { status: 400, code: 'base_url_refused' } },

  // ---- statuses and headers (findings 9, 11) -----------------------------------------------
  { name: 'an unknown queue is 404', finding: 9, route: 'POST /api/admin/jobs/queues/:name/pause', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/jobs/queues/mosaic:nope/pause' }), expect: { status: 404, code: 'not_found' } },
  { name: 'resuming an unknown queue is 404', route: 'POST /api/admin/jobs/queues/:name/resume', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/jobs/queues/mosaic:nope/resume' }), expect: { status: 404, code: 'not_found' } },
  { name: 'running an unknown queue is 404', route: 'POST /api/admin/jobs/queues/:name/run', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/jobs/queues/mosaic:nope/run' }), expect: { status: 404, code: 'not_found' } },
  { name: 'an unknown job is 404', route: 'GET /api/admin/jobs/:id', as: 'admin', request: () => ({ method: 'GET', path: `/api/admin/jobs/${unknownJob}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'deleting an unknown job is 404', route: 'DELETE /api/admin/jobs/:id', as: 'admin', request: () => ({ method: 'DELETE', path: `/api/admin/jobs/${unknownJob}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'a member retrying a job is 403', route: 'POST /api/admin/jobs/:id/retry', as: 'bob', request: () => ({ method: 'POST', path: `/api/admin/jobs/${unknownJob}/retry` }), expect: { status: 403, code: 'forbidden' } },
  { name: 'a member listing jobs is 403', route: 'GET /api/admin/jobs', as: 'bob', request: () => ({ method: 'GET', path: '/api/admin/jobs' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'a member listing queues is 403', route: 'GET /api/admin/jobs/queues', as: 'bob', request: () => ({ method: 'GET', path: '/api/admin/jobs/queues' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'a member listing users is 403', route: 'GET /api/admin/users', as: 'bob', request: () => ({ method: 'GET', path: '/api/admin/users' }), expect: { status: 403, code: 'forbidden' } },
  { name: "a member changing another user's settings is 403", route: 'PATCH /api/admin/users/:username', as: 'bob', request: () => ({ method: 'PATCH', path: '/api/admin/users/alice', body: { localOnly: true } }), expect: { status: 403, code: 'forbidden' } },
  { name: 'an unknown user is 404', route: 'PATCH /api/admin/users/:username', as: 'admin', request: () => ({ method: 'PATCH', path: '/api/admin/users/nobody', body: { localOnly: true } }), expect: { status: 404, code: 'not_found' } },
  { name: 'a member disabling another user is 403', route: 'POST /api/admin/users/:username/disable', as: 'bob', request: () => ({ method: 'POST', path: '/api/admin/users/alice/disable' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'disabling an unknown user is 404', route: 'POST /api/admin/users/:username/disable', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users/nobody/disable' }), expect: { status: 404, code: 'not_found' } },
  { name: 'a username over 64 characters in the path is 400', route: 'POST /api/admin/users/:username/disable', as: 'admin', request: () => ({ method: 'POST', path: `/api/admin/users/${'u'.repeat(65)}/disable` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a member enabling a user is 403', route: 'POST /api/admin/users/:username/enable', as: 'bob', request: () => ({ method: 'POST', path: '/api/admin/users/bob/enable' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'enabling an unknown user is 404', route: 'POST /api/admin/users/:username/enable', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users/nobody/enable' }), expect: { status: 404, code: 'not_found' } },
  { name: "a member asking what deleting another user removes is 403", route: 'GET /api/admin/users/:username/deletion', as: 'bob', request: () => ({ method: 'GET', path: '/api/admin/users/alice/deletion' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'the deletion impact of an unknown user is 404', route: 'GET /api/admin/users/:username/deletion', as: 'admin', request: () => ({ method: 'GET', path: '/api/admin/users/nobody/deletion' }), expect: { status: 404, code: 'not_found' } },
  { name: 'a member deleting another user is 403', route: 'DELETE /api/admin/users/:username', as: 'bob', request: () => ({ method: 'DELETE', path: '/api/admin/users/alice' }), expect: { status: 403, code: 'forbidden' } },
  { name: 'deleting an unknown user is 404', route: 'DELETE /api/admin/users/:username', as: 'admin', request: () => ({ method: 'DELETE', path: '/api/admin/users/nobody' }), expect: { status: 404, code: 'not_found' } },
  { name: 'a NUL in a username in the path is 400', route: 'DELETE /api/admin/users/:username', as: 'admin', request: () => ({ method: 'DELETE', path: '/api/admin/users/ali%00ce' }), expect: { status: 400, code: 'bad_request' } },
  {
    name: 'a new token is never cached (Cache-Control: no-store)',
    finding: 11,
    route: 'POST /api/tokens',
    as: 'alice',
    request: () => ({ method: 'POST', path: '/api/tokens', body: { name: 'cache-test' } }),
    expect: { status: 201, headers: { 'cache-control': 'no-store' } },
    changes: 'issues a token (what the route is for)',
  },
  {
    name: "a new user's token is never cached (Cache-Control: no-store)",
    finding: 11,
    route: 'POST /api/admin/users',
    as: 'admin',
    request: () => ({ method: 'POST', path: '/api/admin/users', body: { username: 'carol' } }),
    expect: { status: 201, headers: { 'cache-control': 'no-store' } },
    changes: 'creates an account (what the route is for)',
  },

  // ---- signing in with a password -------------------------------------------------------------
  { name: 'a sign-in sent as a form is 415', route: 'POST /api/auth/login', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/login', raw: 'username=alice&password=x', contentType: 'application/x-www-form-urlencoded' }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a sign-in without a password is 400 and checks nothing', route: 'POST /api/auth/login', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/login', body: { username: 'alice' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a sign-in with unknown fields is 400', route: 'POST /api/auth/login', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/login', body: { username: 'alice', password: 'x', role: 'admin' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in a sign-in username is 400', route: 'POST /api/auth/login', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/login', body: { username: `alice${NUL}`, password: 'x' } }), expect: { status: 400, code: 'bad_request' } },
  {
    name: 'a wrong password is 401 and issues no token',
    route: 'POST /api/auth/login',
    as: 'none',
    request: () => ({ method: 'POST', path: '/api/auth/login', body: { username: 'alice', password: 'not-her-password' } }),
    expect: { status: 401, code: 'invalid_credentials' },
    changes: 'counts one failed sign-in for the username in Valkey (the lockout)',
  },

  // ---- the web client's session cookie (issue 16) ------------------------------------------
  { name: 'a web sign-in sent as a form is 415 (a cross-site form cannot post JSON)', route: 'POST /api/auth/session', as: 'none', request: (f) => ({ method: 'POST', path: '/api/auth/session', raw: 'username=alice&password=x', contentType: 'application/x-www-form-urlencoded', headers: { origin: f.origin } }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'a web sign-in with unknown fields is 400', route: 'POST /api/auth/session', as: 'none', request: (f) => ({ method: 'POST', path: '/api/auth/session', body: { username: 'alice', password: 'x', role: 'admin' }, headers: { origin: f.origin } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a web sign-in from another origin is refused before any password is checked (login CSRF)', route: 'POST /api/auth/session', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/session', body: { username: 'alice', password: 'x' }, headers: { origin: 'https://evil.example' } }), expect: { status: 403, code: 'csrf_refused' }, then: (_f, res) => void expect(res.headers.get('set-cookie')).toBeNull() },
  { name: 'a web sign-in a cross-site fetch makes (Sec-Fetch-Site) is refused', route: 'POST /api/auth/session', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/session', body: { username: 'alice', password: 'x' }, headers: { 'sec-fetch-site': 'cross-site' } }), expect: { status: 403, code: 'csrf_refused' } },
  {
    name: 'a wrong web password is 401 and sets no cookie',
    route: 'POST /api/auth/session',
    as: 'none',
    request: (f) => ({ method: 'POST', path: '/api/auth/session', body: { username: 'alice', password: 'not-her-password' }, headers: { origin: f.origin } }),
    expect: { status: 401, code: 'invalid_credentials' },
    changes: 'counts one failed sign-in for the username in Valkey (the lockout)',
    then: (_f, res) => void expect(res.headers.get('set-cookie')).toBeNull(),
  },
  { name: 'a web sign-in with a token and a password at once is 400', route: 'POST /api/auth/session', as: 'none', request: (f) => ({ method: 'POST', path: '/api/auth/session', body: { token: f.aliceToken, username: 'alice', password: 'x' }, headers: { origin: f.origin } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a web sign-in with a made-up token is 401 and sets no cookie', route: 'POST /api/auth/session', as: 'none', request: (f) => ({ method: 'POST', path: '/api/auth/session', body: { token: `mos_${'A'.repeat(43)}` }, headers: { origin: f.origin } }), expect: { status: 401, code: 'invalid_credentials' }, then: (_f, res) => void expect(res.headers.get('set-cookie')).toBeNull() },
  { name: 'the web session needs a session cookie', route: 'GET /api/auth/session', as: 'none', request: () => ({ method: 'GET', path: '/api/auth/session' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a forged session cookie is 401', route: 'GET /api/auth/session', as: 'none', request: () => ({ method: 'GET', path: '/api/auth/session', headers: { cookie: `mosaic_session=mws_${'A'.repeat(43)}` } }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a token is not a web session (400 naming how tokens are revoked)', route: 'GET /api/auth/session', as: 'alice', request: () => ({ method: 'GET', path: '/api/auth/session' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'signing out without the CSRF token is refused and ends nothing', route: 'DELETE /api/auth/session', as: 'none', request: (f) => ({ method: 'DELETE', path: '/api/auth/session', headers: { cookie: f.aliceSessionCookie, origin: f.origin } }), expect: { status: 403, code: 'csrf_refused' } },
  { name: 'signing out from another origin is refused', route: 'DELETE /api/auth/session', as: 'none', request: (f) => ({ method: 'DELETE', path: '/api/auth/session', headers: { cookie: f.aliceSessionCookie, origin: 'https://evil.example', 'x-csrf-token': f.aliceCsrf } }), expect: { status: 403, code: 'csrf_refused' } },
  { name: 'signing out with a token is 400: tokens are revoked, not signed out', route: 'DELETE /api/auth/session', as: 'alice', request: () => ({ method: 'DELETE', path: '/api/auth/session' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a cookie-signed change without the CSRF token is 403 and changes nothing', route: 'PATCH /api/me', as: 'none', request: (f) => ({ method: 'PATCH', path: '/api/me', body: { localOnly: true }, headers: { cookie: f.aliceSessionCookie, origin: f.origin } }), expect: { status: 403, code: 'csrf_refused' } },
  { name: 'a cookie-signed change from another origin is 403 even with the CSRF token', route: 'POST /api/conversations', as: 'none', request: (f) => ({ method: 'POST', path: '/api/conversations', body: { title: 'csrf' }, headers: { cookie: f.aliceSessionCookie, origin: 'https://evil.example', 'x-csrf-token': f.aliceCsrf } }), expect: { status: 403, code: 'csrf_refused' } },
  { name: 'a cookie-signed change without Origin or Sec-Fetch-Site is 403', route: 'POST /api/tokens', as: 'none', request: (f) => ({ method: 'POST', path: '/api/tokens', body: { name: 'stolen' }, headers: { cookie: f.aliceSessionCookie, 'x-csrf-token': f.aliceCsrf } }), expect: { status: 403, code: 'csrf_refused' } },
  { name: "a member's session cannot open admin routes (403)", route: 'GET /api/admin/users', as: 'none', request: (f) => ({ method: 'GET', path: '/api/admin/users', headers: { cookie: f.aliceSessionCookie } }), expect: { status: 403, code: 'forbidden' } },

  // ---- linking chat accounts (issue 17) ----------------------------------------------------
  { name: 'link tokens need a token', route: 'POST /api/auth/channel-link-token', as: 'none', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', body: {} }), expect: { status: 401, code: 'unauthorized' } },
  { name: "a member asking for another account's link token is 403", route: 'POST /api/auth/channel-link-token', as: 'bob', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', body: { username: 'alice' } }), expect: { status: 403, code: 'forbidden' } },
  { name: 'a link token for a channel that is not running is 400', route: 'POST /api/auth/channel-link-token', as: 'alice', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', body: { channel: 'telegram' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a link token request sent as text/plain is 415', route: 'POST /api/auth/channel-link-token', as: 'alice', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', raw: '{}', contentType: 'text/plain' }), expect: { status: 415, code: 'unsupported_media_type' } },
  { name: 'unknown fields in a link token request are 400', route: 'POST /api/auth/channel-link-token', as: 'admin', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', body: { username: 'alice', userId: 'x' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'NUL in the username of a link token request is 400', route: 'POST /api/auth/channel-link-token', as: 'admin', request: () => ({ method: 'POST', path: '/api/auth/channel-link-token', body: { username: `alice${NUL}` } }), expect: { status: 400, code: 'bad_request' } },
  {
    name: "GET /api/me/links lists one's own links only",
    route: 'GET /api/me/links',
    as: 'bob',
    request: () => ({ method: 'GET', path: '/api/me/links' }),
    expect: { status: 200, headers: { 'cache-control': 'no-store' } },
    then: (_f, res) => void expect(res.json).toEqual({ links: [] }),
  },
  { name: "revoking another user's link is not found", route: 'DELETE /api/auth/channel-links/:channel/:channelUserId', as: 'bob', request: (f) => ({ method: 'DELETE', path: `/api/auth/channel-links/matrix/${encodeURIComponent(f.aliceMatrixId)}` }), expect: { status: 404, code: 'not_found' } },
  { name: 'a channel name that is not one is 400', route: 'DELETE /api/auth/channel-links/:channel/:channelUserId', as: 'alice', request: (f) => ({ method: 'DELETE', path: `/api/auth/channel-links/Matrix%21/${encodeURIComponent(f.aliceMatrixId)}` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a chat account id over 255 bytes is 400', route: 'DELETE /api/auth/channel-links/:channel/:channelUserId', as: 'alice', request: () => ({ method: 'DELETE', path: `/api/auth/channel-links/matrix/@${'é'.repeat(130)}:x` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a member linking accounts is 403', route: 'POST /api/admin/users/:username/links', as: 'bob', request: (f) => ({ method: 'POST', path: '/api/admin/users/bob/links', body: { matrixUserId: f.aliceMatrixId } }), expect: { status: 403, code: 'forbidden' } },
  { name: "linking Alice's Matrix id to Bob is 409: a link is never moved", route: 'POST /api/admin/users/:username/links', as: 'admin', request: (f) => ({ method: 'POST', path: '/api/admin/users/bob/links', body: { matrixUserId: f.aliceMatrixId } }), expect: { status: 409, code: 'conflict' } },
  { name: 'a Matrix user id that is not one is 400', route: 'POST /api/admin/users/:username/links', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users/bob/links', body: { matrixUserId: 'bob at example.org' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'linking to an unknown account is 404', route: 'POST /api/admin/users/:username/links', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users/nobody/links', body: { matrixUserId: '@nobody:example.org' } }), expect: { status: 404, code: 'not_found' } },
  { name: 'creating an account with a Matrix id linked elsewhere is 409 and creates nothing', route: 'POST /api/admin/users', as: 'admin', request: (f) => ({ method: 'POST', path: '/api/admin/users', body: { username: 'mallory', matrixUserId: f.aliceMatrixId } }), expect: { status: 409, code: 'conflict' } },
  { name: 'creating an account with a 300-byte Matrix id is 400', route: 'POST /api/admin/users', as: 'admin', request: () => ({ method: 'POST', path: '/api/admin/users', body: { username: 'mallory', matrixUserId: `@${'m'.repeat(300)}:example.org` } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'the link page of a channel that is not running is a 404 page', route: 'GET /link/:channel', as: 'none', request: (f) => ({ method: 'GET', path: `/link/telegram?state=${f.linkState}` }), expect: { status: 404, page: true } },
  { name: 'a made-up state is an expired-link page (410) and creates no form', route: 'GET /link/:channel', as: 'none', request: () => ({ method: 'GET', path: `/link/matrix?state=${'A'.repeat(43)}` }), expect: { status: 410, page: true } },
  { name: 'a state given twice is 400', route: 'GET /link/:channel', as: 'none', request: (f) => ({ method: 'GET', path: `/link/matrix?state=${f.linkState}&state=${f.linkState}` }), expect: { status: 400, page: true } },
  { name: 'a forged sign-in form (made-up form token) is refused; no password is checked', route: 'POST /link/:channel/sign-in', as: 'none', request: (f) => ({ method: 'POST', path: '/link/matrix/sign-in', raw: new URLSearchParams({ state: f.linkState, form: 'B'.repeat(43), username: 'alice', password: 'guess' }).toString(), contentType: 'application/x-www-form-urlencoded' }), expect: { status: 400, page: true } },
  { name: 'a sign-in posted as JSON is 415', route: 'POST /link/:channel/sign-in', as: 'none', request: (f) => ({ method: 'POST', path: '/link/matrix/sign-in', body: { state: f.linkState } }), expect: { status: 415, page: true } },
  { name: 'NUL in a sign-in field is refused by the intake check', route: 'POST /link/:channel/sign-in', as: 'none', request: (f) => ({ method: 'POST', path: '/link/matrix/sign-in', raw: `state=${f.linkState}&form=x&username=a%00b&password=x`, contentType: 'application/x-www-form-urlencoded' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a forged confirmation (no sign-in) links nothing', route: 'POST /link/:channel/confirm', as: 'none', request: (f) => ({ method: 'POST', path: '/link/matrix/confirm', raw: new URLSearchParams({ state: f.linkState, form: 'C'.repeat(43), decision: 'link' }).toString(), contentType: 'application/x-www-form-urlencoded' }), expect: { status: 400, page: true } },
  { name: 'a confirmation of 20,000 fields is refused before it is parsed', route: 'POST /link/:channel/confirm', as: 'none', request: () => ({ method: 'POST', path: '/link/matrix/confirm', raw: Array.from({ length: 20_000 }, (_, i) => `f${i}=1`).join('&'), contentType: 'application/x-www-form-urlencoded' }), expect: { status: 413, code: 'payload_too_large' } },

  // ---- every other route: malformed input is a 4xx in the shape ----------------------------
  { name: 'a page size that is not a number', route: 'GET /api/conversations', as: 'alice', request: () => ({ method: 'GET', path: '/api/conversations?limit=abc' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an unknown capability filter', route: 'GET /api/providers/models', as: 'alice', request: () => ({ method: 'GET', path: '/api/providers/models?capability=%00' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'provider health needs a token', route: 'GET /api/providers/health', as: 'none', request: () => ({ method: 'GET', path: '/api/providers/health' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'credentials need a token', route: 'GET /api/providers/credentials', as: 'none', request: () => ({ method: 'GET', path: '/api/providers/credentials' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'rules need a token', route: 'GET /api/routing/rules', as: 'none', request: () => ({ method: 'GET', path: '/api/routing/rules' }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'agents need a token', route: 'GET /api/agents', as: 'none', request: () => ({ method: 'GET', path: '/api/agents' }), expect: { status: 401, code: 'unauthorized' } },
  // ---- the API reference: public, read-only ------------------------------------------------
  { name: 'the OpenAPI document needs no token and changes nothing', route: 'GET /api/openapi.json', as: 'none', request: () => ({ method: 'GET', path: '/api/openapi.json' }), expect: { status: 200 } },
  { name: 'the OpenAPI document with a NUL in the query string is 400', route: 'GET /api/openapi.json', as: 'none', request: () => ({ method: 'GET', path: '/api/openapi.json?x=%00' }), expect: { status: 400, code: 'bad_request' } },
  { name: 'the reference page needs no token and changes nothing', route: 'GET /api/docs', as: 'none', request: () => ({ method: 'GET', path: '/api/docs' }), expect: { status: 200 } },
  { name: 'POST to the reference page is 405 with Allow', route: 'GET /api/docs', as: 'alice', request: () => ({ method: 'POST', path: '/api/docs', body: {} }), expect: { status: 405, code: 'method_not_allowed', headers: { allow: /GET/ } } },

  // ---- live surfaces (issue 14): tickets and event streams; socket frames are in socket.test.ts ----
  { name: 'GET /api/socket without an upgrade is 426 naming what it is', route: 'GET /api/socket', as: 'alice', request: () => ({ method: 'GET', path: '/api/socket' }), expect: { status: 426, code: 'upgrade_required' } },
  { name: 'a socket ticket needs a token', route: 'POST /api/socket/ticket', as: 'none', request: () => ({ method: 'POST', path: '/api/socket/ticket' }), expect: { status: 401, code: 'unauthorized', headers: { 'www-authenticate': /^Bearer realm="mosaic"$/ } } },
  { name: 'a socket ticket is not bought with a wrong token', route: 'POST /api/socket/ticket', as: 'none', request: () => ({ method: 'POST', path: '/api/socket/ticket', headers: { authorization: 'Bearer mos_not-a-token' } }), expect: { status: 401, code: 'unauthorized', headers: { 'www-authenticate': /invalid_token/ } } },
  { name: 'a socket ticket is not bought with a ticket', route: 'POST /api/socket/ticket', as: 'none', request: () => ({ method: 'POST', path: '/api/socket/ticket?ticket=mtk_x', headers: { authorization: 'Bearer mtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a socket ticket request with a text/plain body is 415', route: 'POST /api/socket/ticket', as: 'alice', request: () => ({ method: 'POST', path: '/api/socket/ticket', raw: '{}', contentType: 'text/plain' }), expect: { status: 415, code: 'unsupported_media_type' } },
  {
    name: 'a socket ticket is short-lived and never cached (single use and hashing: test/live/guards.test.ts)',
    route: 'POST /api/socket/ticket',
    as: 'alice',
    request: () => ({ method: 'POST', path: '/api/socket/ticket' }),
    expect: { status: 201, headers: { 'cache-control': 'no-store' } },
    changes: 'one ticket hash in Valkey for tens of seconds (what the route is for)',
    then: (_f, res) => {
      const body = res.json as { ticket: string; expiresInSeconds: number };
      expect(body.ticket).toMatch(/^mtk_[\w-]{43}$/);
      expect(body.expiresInSeconds).toBeLessThanOrEqual(300);
    },
  },
  { name: "another user's conversation has no event stream (404, as over REST)", route: 'GET /api/conversations/:id/events', as: 'bob', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/events` }), expect: { status: 404, code: 'not_found' } },
  { name: 'an event stream needs a token or a ticket', route: 'GET /api/conversations/:id/events', as: 'none', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/events` }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'an unknown, used or expired ticket opens no event stream', route: 'GET /api/conversations/:id/events', as: 'none', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/events?ticket=mtk_${'A'.repeat(43)}` }), expect: { status: 401, code: 'unauthorized' } },
  { name: 'a Last-Event-ID that is not a seq is 400', route: 'GET /api/conversations/:id/events', as: 'alice', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/events`, headers: { 'last-event-id': '1e400' } }), expect: { status: 400, code: 'bad_request' } },
  { name: 'a negative afterSeq is 400', route: 'GET /api/conversations/:id/events', as: 'alice', request: (f) => ({ method: 'GET', path: `/api/conversations/${f.aliceConversation}/events?afterSeq=-1` }), expect: { status: 400, code: 'bad_request' } },
  { name: 'an event stream of a conversation id that is no uuid is 400', route: 'GET /api/conversations/:id/events', as: 'alice', request: () => ({ method: 'GET', path: '/api/conversations/..%2F..%2Fadmin/events' }), expect: { status: 400, code: 'bad_request' } },
];
