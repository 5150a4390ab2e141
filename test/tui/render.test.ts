/* eslint-disable no-control-regex -- these expressions match terminal escape sequences */
/**
 * The terminal client's drawing pieces, without a terminal: markdown to
 * lines (and its width bound), wrapping styled text, the input editor's
 * keys and layout, the answer footer, and NO_COLOR.
 */
import { describe, expect, it } from 'vitest';
import { setColour, stripAnsi, width, wrap } from '../../clients/tui/screen/ansi.ts';
import { LineEditor } from '../../clients/tui/screen/editor.ts';
import { renderMarkdown } from '../../clients/tui/screen/markdown.ts';
import { footerLines } from '../../clients/tui/screen/view.ts';

const plain = (lines: string[]) => lines.map(stripAnsi);

describe('the TUI renderer', () => {
  it('renders headings, lists, tables, quotes and highlighted code within the width', () => {
    const text = '# Title\n\nSome **bold** and `code`.\n\n- one\n- two is a much longer item that has to wrap onto the next line\n  1. nested\n\n| name | value |\n|---|---|\n| a | 1 |\n\n```ts\nconst x: number = 1; // why\n```\n\n> quoted\n\n<script>alert(1)</script>';
    const lines = renderMarkdown(text, 40);
    for (const l of lines) expect(width(l), l).toBeLessThanOrEqual(40);
    const p = plain(lines);
    expect(p[0]).toBe('# Title');
    expect(p).toContain(' • one');
    expect(p.some((l) => l.startsWith('   must wrap') || l.includes('wrap onto'))).toBe(true);
    expect(p.some((l) => /^\s+1\. nested$/.test(l))).toBe(true);
    expect(p).toContain('│ name │ value │');
    expect(p).toContain('│ const x: number = 1; // why');
    expect(p).toContain('│ quoted');
    // Raw HTML is text, never markup.
    expect(p.join('\n')).toContain('<script>alert(1)</script>');
    // The keyword is coloured (blue), the comment grey.
    expect(lines.find((l) => l.includes('const'))).toContain('\x1b[34mconst\x1b[39m');
  });

  it('wraps styled text so every line closes what it opened', () => {
    const lines = wrap(`\x1b[1m${'bold words '.repeat(8)}\x1b[22m`, 20);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) {
      expect(width(l)).toBeLessThanOrEqual(20);
      expect(l.startsWith('\x1b[1m')).toBe(true);
    }
  });

  it('NO_COLOR: no colour codes, but bold and dim stay', () => {
    setColour(false);
    try {
      const lines = renderMarkdown('**b** `c`\n\n```js\nconst a = 1\n```', 40).join('\n');
      expect(lines).not.toMatch(/\x1b\[3[0-9]m|\x1b\[9[0-7]m/);
      expect(lines).toContain('\x1b[1m');
    } finally {
      setColour(true);
    }
  });

  it('the footer names model, provider, rule, reason, tokens and cost, wrapped, never cut', () => {
    const reason = 'rule "Coding" matched (code, complex, confidence 0.91); the long reason goes on and on until it must wrap';
    const lines = plain(footerLines({ provider: 'openai', model: 'gpt-x', routing: { rule: { name: 'Coding' }, reason }, usage: { inputTokens: 12, outputTokens: 34, costUsd: 0.0123 } }, 60));
    const text = lines.map((l) => l.trim()).join(' ');
    expect(text).toContain('model: gpt-x · provider: openai · rule: Coding');
    expect(text).toContain(`why: ${reason}`);
    expect(text).toContain('tokens: 12 in / 34 out · cost: $0.01');
  });

  it('the editor: multi-line text, history, word and line keys, and where the cursor is', () => {
    const e = new LineEditor(['first', 'second']);
    e.insert('hello world');
    e.deleteWord();
    expect(e.text).toBe('hello ');
    e.insert('there');
    e.insert('\n');
    e.insert('line two');
    e.up();
    expect(e.cursor).toBe(8);
    e.home();
    e.up();
    expect(e.text).toBe('second');
    e.up();
    expect(e.text).toBe('first');
    e.down();
    e.down();
    expect(e.text).toBe('hello there\nline two');
    expect(e.take()).toBe('hello there\nline two');
    expect(e.history.at(-1)).toBe('hello there\nline two');
    e.insert('x'.repeat(25));
    const layout = e.layout(20, '> ');
    expect(layout.rows).toEqual(['> ' + 'x'.repeat(17), '  ' + 'x'.repeat(8)]);
    expect(layout).toMatchObject({ cursorRow: 1, cursorCol: 10 });
  });
});
