/**
 * The pure parts of the input edge, case by case: the intake walk, the
 * mxc grammar, the search excerpt, and the markdown heuristic — whose
 * linear scanner must say exactly what the quadratic regex it replaced
 * said, on every input (checked on a large corpus of strings built from
 * the characters markdown cares about).
 */
import { describe, expect, it } from 'vitest';
import { API_LIMITS, inspectJson, storableText, textProblem } from '../../src/protocol/json-intake.ts';
import { snippetOf, queryTerms } from '../../src/conversations/search-snippet.ts';
import { looksLikeMarkdown } from '../../appservice/translation/formatting.ts';
import { parseMxc } from '../../appservice/transport/mxc.ts';
import { malformation } from '../../appservice/transport/event-intake.ts';

describe('the intake walk', () => {
  it('names the field of the first NUL, lone surrogate, or nesting too deep, keys included', () => {
    expect(inspectJson({ a: [{ b: 'x\u0000' }] }, API_LIMITS)).toMatchObject({ path: 'body.a.0.b', reason: 'nul' });
    expect(inspectJson({ 'odd key': '\udc00' }, API_LIMITS)).toMatchObject({ path: 'body["odd key"]', reason: 'lone_surrogate' });
    expect(inspectJson({ ['k\u0000']: 1 }, API_LIMITS)).toMatchObject({ reason: 'nul' });
    expect(inspectJson({ ok: '😀 fine \ud83d\ude00' }, API_LIMITS)).toBeNull();
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(inspectJson(deep, API_LIMITS)).toMatchObject({ reason: 'too_deep' });
    expect(inspectJson(new Array(API_LIMITS.maxValues! + 1).fill(0), API_LIMITS)).toMatchObject({ reason: 'too_many_values' });
    // Iterative: a value nested far deeper than the call stack allows is refused, not a crash.
    let abyss: unknown = 'x';
    for (let i = 0; i < 200_000; i++) abyss = { n: abyss };
    expect(inspectJson(abyss, { maxDepth: Infinity })).toBeNull();
    expect(textProblem('\u0000')).toBe('nul');
    expect(storableText('a\u0000b\ud800')).toBe('a\ufffdb\ufffd');
  });

  it('Matrix events: ids over 255 bytes, non-integer timestamps, content over the event limit', () => {
    const base = { event_id: '$e', room_id: '!r:hs', type: 'm.room.message', sender: '@u:hs', origin_server_ts: 1, content: { body: 'x' } };
    expect(malformation(base)).toBeNull();
    expect(malformation({ ...base, event_id: `$${'é'.repeat(128)}` })).toMatch(/255 bytes/);
    expect(malformation({ ...base, origin_server_ts: 1.5 })).toMatch(/integer/);
    expect(malformation({ ...base, origin_server_ts: 2 ** 60 })).toMatch(/integer/);
    expect(malformation({ ...base, content: { body: 'x'.repeat(70_000) } })).toMatch(/larger than 65535/);
  });
});

describe('mxc URIs', () => {
  it('take the spec grammar: a server name and a media id of A-Z a-z 0-9 _ -', () => {
    expect(parseMxc('mxc://example.org/abc_DEF-123')).toEqual({ serverName: 'example.org', mediaId: 'abc_DEF-123' });
    expect(parseMxc('mxc://[::1]:8448/x')).toEqual({ serverName: '[::1]:8448', mediaId: 'x' });
    for (const bad of ['mxc://../..', 'mxc://hs/../../admin', 'mxc://hs/a/b', 'mxc://hs/a?b', 'mxc://hs/', 'mxc:///x', 'https://hs/x', 'mxc://h s/x', 'mxc://hs/a%2e']) expect(parseMxc(bad), bad).toBeNull();
  });
});

describe('search excerpts', () => {
  it('mark the query words around the first one, ignoring operators and excluded words', () => {
    expect(queryTerms('"Miso soup" -tofu OR ramen')).toEqual(['miso', 'soup', 'ramen']);
    expect(snippetOf('My cat is called Miso.', 'miso')).toBe('My cat is called <<Miso>>.');
    const long = `${'filler '.repeat(100)}the pineapple is here ${'more '.repeat(100)}`;
    const s = snippetOf(long, 'pineapple');
    expect(s).toContain('<<pineapple>>');
    expect(s.startsWith('…')).toBe(true);
    expect(s.length).toBeLessThan(300);
  });
});

describe('looksLikeMarkdown', () => {
  /** The regex it replaced (quadratic on "[[[[…" and on runs of whitespace lines). */
  const OLD = /(^|\n)\s*(#{1,6}\s|[-*+]\s|\d+\.\s|>\s|```)|`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)]+\)|(^|\s)_[^_]+_(\s|$)/;

  it('says what the regex said, on a corpus of markdown-shaped strings', () => {
    const alphabet = ['#', '#', '-', '*', '+', '>', '`', '[', ']', '(', ')', '_', '1', '.', ' ', '\n', '\t', 'a', 'b'];
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let positives = 0;
    for (let i = 0; i < 30_000; i++) {
      const len = 1 + Math.floor(random() * 14);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(random() * alphabet.length)];
      const want = OLD.test(s);
      if (want) positives++;
      expect(looksLikeMarkdown(s), JSON.stringify(s)).toBe(want);
    }
    expect(positives).toBeGreaterThan(1000);
  });
});
