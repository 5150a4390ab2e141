/**
 * The encoder at the Matrix edge: what it turns into canonical JSON, what
 * it refuses, a property test over random values, the event-size reserve
 * measured against the largest envelope, every request body of the client
 * going through it, and the outbound content builders of appservice/.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CanonicalJsonError, encodeCanonicalJson, toCanonicalJson } from '../../appservice/transport/canonical-json.ts';
import { ENVELOPE_RESERVE_BYTES, largestEnvelopeBytes, MAX_CONTENT_BYTES, MAX_EVENT_BYTES } from '../../appservice/transport/event-limits.ts';
import { EventTooLargeError, MatrixApiError, MatrixClient } from '../../appservice/transport/matrix-client.ts';
import { editContent, messageContent, partContent, plainContent, splitParts } from '../../appservice/outbound/answer-parts.ts';
import { routingField } from '../../appservice/outbound/routing-field.ts';
import { markdownContent, routingLine } from '../../appservice/translation/formatting.ts';
import { buildPdu, canonicalText, MAX_PDU_BYTES, nonCanonicalNumber } from '../homeserver/canonical-json.ts';

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [0, -0, 1, -1, 42, 0.43, -2.5, 1e-7, 1e21, 123456.789, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, -(2 ** 53), 1e300, Number.NaN, Infinity, -Infinity, Number.MIN_VALUE];
const STRINGS = ['', 'plain', 'é ü 😀', 'a\ud800b', '\udc00', 'line\nbreak "quoted" \\ back', '\u0001\u001f', 'ﬀ', '\uffff'];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const kind = depth > 3 ? Math.floor(r() * 4) : Math.floor(r() * 9);
  switch (kind) {
    case 0:
      return pick(NUMBERS);
    case 1:
      return pick(STRINGS);
    case 2:
      return pick([true, false, null]);
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 20);
    case 4:
      return pick([undefined, 5n, 2n ** 60n, new Date(0), () => 1]);
    case 5:
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[pick([...STRINGS, 'k', 'mosaic.routing', 'confidence'])] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** An independent statement of what canonical JSON can carry after the documented conversions. */
function representable(v: unknown, inArray = false): boolean {
  if (v === undefined) return !inArray;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && (!Number.isInteger(v) || Math.abs(v) <= Number.MAX_SAFE_INTEGER);
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER);
  if (Array.isArray(v)) return v.every((x) => representable(x, true));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every((x) => representable(x));
  return false;
}

describe('the canonical-JSON encoder', () => {
  it('turns fractions into decimal strings, -0 into 0, lone surrogates into U+FFFD; sorts keys by code point; drops undefined members', () => {
    expect(encodeCanonicalJson({ b: 1, a: { confidence: 0.43, n: -0, big: Number.MAX_SAFE_INTEGER }, c: undefined, '\u{1F600}': 1, '\uffff': 2, s: 'x\ud800' })).toBe(
      '{"a":{"big":9007199254740991,"confidence":"0.43","n":0},"b":1,"s":"x\uFFFD","\uffff":2,"\u{1F600}":1}',
    );
    expect(toCanonicalJson([1e-7, 1.5, 5n])).toEqual(['1e-7', '1.5', 5]);
    // 1e21 is a whole number, and beyond the range.
    expect(() => toCanonicalJson(1e21)).toThrow(CanonicalJsonError);
  });

  it('refuses what has no canonical form, naming where it is', () => {
    const cases: Array<[unknown, string]> = [
      [{ a: { b: Number.NaN } }, 'content.a.b'],
      [{ x: [1, Infinity] }, 'content.x[1]'],
      [{ n: 2 ** 53 }, 'content.n'],
      [{ n: -(2 ** 53) }, 'content.n'],
      [{ n: 2n ** 53n }, 'content.n'],
      [{ d: new Date(0) }, 'content.d'],
      [{ m: new Map() }, 'content.m'],
      [{ list: [undefined] }, 'content.list[0]'],
      [{ f: () => 1 }, 'content.f'],
      [{ 'mosaic.routing': { s: Symbol('x') } }, 'content["mosaic.routing"].s'],
    ];
    for (const [value, where] of cases) {
      const err = (() => {
        try {
          encodeCanonicalJson(value);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err, where).toBeInstanceOf(CanonicalJsonError);
      expect((err as CanonicalJsonError).path).toBe(where);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeCanonicalJson(cyclic)).toThrow(CanonicalJsonError);
  });

  it('property: over 5,000 random values, the output is canonical JSON a strict homeserver accepts, or the value is refused exactly when it cannot be represented', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const value = randomValue(rng(seed));
      let text: string | null = null;
      try {
        text = encodeCanonicalJson(value);
      } catch (err) {
        expect(err, `seed ${seed}`).toBeInstanceOf(CanonicalJsonError);
      }
      expect(text !== null, `seed ${seed}: refused ⇔ not representable`).toBe(value !== undefined && representable(value));
      if (text === null) continue;
      expect(nonCanonicalNumber(text), `seed ${seed}`).toBeNull();
      const parsed = JSON.parse(text) as unknown;
      expect(encodeCanonicalJson(parsed), `seed ${seed}: already canonical (sorted, no whitespace)`).toBe(text);
      expect(text).not.toMatch(/[\uD800-\uDFFF]/u);
      expect(parsed).toEqual(toCanonicalJson(value));
      expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
    }
  });
});

describe('event size', () => {
  it('the envelope reserve holds the largest envelope the spec allows, so content within MAX_CONTENT_BYTES always fits in an event', () => {
    const envelope = largestEnvelopeBytes();
    expect(envelope).toBeLessThanOrEqual(ENVELOPE_RESERVE_BYTES);
    expect(MAX_CONTENT_BYTES + envelope).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(MAX_EVENT_BYTES).toBe(MAX_PDU_BYTES);
    // Cross-check with the test homeserver's own PDU builder: the largest content Mosaic sends fits there too.
    const content = { msgtype: 'm.text', body: 'x'.repeat(MAX_CONTENT_BYTES - 30) };
    const pdu = buildPdu({ type: 'm.room.message', sender: `@${'u'.repeat(200)}:test.local`, roomId: '!r:test.local', content, originServerTs: Date.now(), depth: 10, authEvents: ['$a', '$b', '$c'], prevEvents: ['$p'], serverName: 'test.local' });
    expect(Buffer.byteLength(canonicalText(pdu))).toBeLessThanOrEqual(MAX_PDU_BYTES);
  });
});

describe('the client: every request body goes through the encoder', () => {
  const bodies: string[] = [];
  let server: http.Server;
  let client: MatrixClient;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        if (raw) bodies.push(raw);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ event_id: '$e', room_id: '!r:x', user_id: '@b:x', joined: {} }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new MatrixClient({ homeserverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asToken: 't', botUserId: '@b:x', maxAttempts: 1 });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends, state, room creation, redactions, typing, profile, membership: no float or out-of-range integer leaves', async () => {
    const c = { msgtype: 'm.text', body: 'b', 'mosaic.routing': { classification: { confidence: 0.43 } }, weight: -0 };
    await client.sendEvent('!r:x', 'm.room.message', 't1', c, '@g:x');
    await client.putState('!r:x', 'org.example.state', '', { ratio: 1.5 }, '@b:x');
    await client.createRoom({ name: 'n', power_level_content_override: { users_default: 0, ratio: 0.5 }, initial_state: [{ type: 'x', state_key: '', content: { f: 2.25 } }] });
    await client.redact('!r:x', '$e', 't2', '@b:x', 'why');
    await client.setTyping('!r:x', '@g:x', true, 1234.5);
    await client.setDisplayName('@g:x', 'G');
    await client.invite('!r:x', '@h:x', '@b:x');
    await client.join('!r:x', '@g:x');
    await client.registerUser('g');
    expect(bodies.length).toBeGreaterThanOrEqual(9);
    for (const b of bodies) expect(nonCanonicalNumber(b), b).toBeNull();
    expect(bodies[0]).toBe('{"body":"b","mosaic.routing":{"classification":{"confidence":"0.43"}},"msgtype":"m.text","weight":0}');
  });

  it('what cannot be encoded, an event over the limit, or an id over 255 bytes is refused before any request', async () => {
    const before = bodies.length;
    await expect(client.sendEvent('!r:x', 'm.room.message', 't3', { msgtype: 'm.text', body: 'b', n: Number.NaN }, '@g:x')).rejects.toBeInstanceOf(CanonicalJsonError);
    await expect(client.sendEvent('!r:x', 'm.room.message', 't4', { msgtype: 'm.text', body: 'é'.repeat(MAX_CONTENT_BYTES / 2) }, '@g:x')).rejects.toBeInstanceOf(EventTooLargeError);
    await expect(client.createRoom({ initial_state: [{ type: 'x', state_key: '', content: { big: 'x'.repeat(MAX_CONTENT_BYTES) } }] })).rejects.toMatchObject({ errcode: 'M_TOO_LARGE' });
    await expect(client.sendEvent('!r:x', 'm.room.message', 'x'.repeat(256), { msgtype: 'm.text', body: 'b' }, '@g:x')).rejects.toMatchObject({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(bodies.length).toBe(before);
    const tooLarge = await client.sendEvent('!r:x', 'm.room.message', 't5', { msgtype: 'm.text', body: 'x'.repeat(MAX_CONTENT_BYTES) }, '@g:x').catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(MatrixApiError);
    expect(tooLarge).toMatchObject({ status: 413, errcode: 'M_TOO_LARGE' });
  });
});

describe('outbound content builders of appservice/', () => {
  const routing = (r: () => number) => ({
    outcome: 'routed',
    provider: 'anthropic',
    model: 'claude-sonnet-5-5',
    rule: { id: 'r1', name: 'Coding → Claude' },
    reason: `matched ${r()}`,
    classification: { taskType: 'coding', complexity: 'moderate', domain: 'general', confidence: r(), capabilities: { tools: r() > 0.5, vision: false, minContextWindow: Math.floor(r() * 100_000) } },
    fallbacksTried: [{ provider: 'openai', model: 'gpt-6-luna', why: `down ${r()}` }],
    estimatedCostTier: 'standard',
    agent: { id: 'a', name: 'coder', systemPromptOverride: 'SECRET PROMPT', toolAllowlist: ['x'] },
  });

  it('messages, edits, notices, plain fallbacks and mosaic.routing, with random routing decisions: canonical after encoding, confidence a string, no system prompt', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const decision = routing(r);
      const field = routingField(decision)!;
      const line = routingLine(decision, decision.model);
      const texts = ['plain', '**bold** and `code`', '```ts\nconst a = 1 < 2;\n```', 'é😀'.repeat(Math.floor(r() * 50))];
      for (const text of texts) {
        const content = partContent(text, r() > 0.5 ? '```ts' : null, { line, fields: { 'mosaic.routing': field } });
        for (const built of [
          messageContent(content, { 'mosaic.routing': field }, { 'm.in_reply_to': { event_id: '$q' } }),
          editContent('$e', content, { 'mosaic.routing': field }),
          messageContent(plainContent(text)),
          messageContent(markdownContent(text, 'm.notice')),
        ]) {
          const encoded = encodeCanonicalJson(built);
          expect(nonCanonicalNumber(encoded), `seed ${seed}`).toBeNull();
          expect(encoded).not.toContain('SECRET PROMPT');
        }
      }
      const encodedField = JSON.parse(encodeCanonicalJson(field)) as { classification: { confidence: string } };
      expect(encodedField.classification.confidence).toBe(String(decision.classification.confidence));
    }
  });

  it('split text: every part fits as an edit, and the parts are the text', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      const words = Array.from({ length: 12_000 + Math.floor(r() * 8_000) }, () => ['word', 'é😀', '<tag>', '\n\n', '```js\n', 'x'.repeat(Math.floor(r() * 30))][Math.floor(r() * 6)]!);
      const text = words.join(' ');
      const parts = splitParts(text, {}, null);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.map(([a, b]) => text.slice(a, b)).join('')).toBe(text);
      for (const [a, b] of parts) {
        const edit = editContent(`$${'x'.repeat(254)}`, partContent(text.slice(a, b), null));
        expect(Buffer.byteLength(encodeCanonicalJson(edit))).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
      }
    }
  });
});
