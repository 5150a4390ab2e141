/* eslint-disable no-control-regex -- these expressions match terminal escape sequences */
/**
 * Styling and measuring text for the terminal. Colours follow NO_COLOR
 * (https://no-color.org): when it is set, no colour is written — bold, dim,
 * italic, underline and inverse still are, as they carry meaning (a dimmed
 * thought, the selected row) without colour.
 */
const ESC = '\x1b[';

let colour = !process.env.NO_COLOR;

/** For tests and `--no-color`. */
export function setColour(on: boolean): void {
  colour = on;
}

const sgr = (open: string, close: string, isColour: boolean) => (s: string) => (isColour && !colour ? s : s ? `${ESC}${open}m${s}${ESC}${close}m` : s);

export const style = {
  bold: sgr('1', '22', false),
  dim: sgr('2', '22', false),
  italic: sgr('3', '23', false),
  underline: sgr('4', '24', false),
  inverse: sgr('7', '27', false),
  red: sgr('31', '39', true),
  green: sgr('32', '39', true),
  yellow: sgr('33', '39', true),
  blue: sgr('34', '39', true),
  magenta: sgr('35', '39', true),
  cyan: sgr('36', '39', true),
  gray: sgr('90', '39', true),
};

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

export const stripAnsi = (s: string): string => s.replace(ANSI, '');

/** Columns a code point takes: 2 for East Asian wide and emoji, 0 for combining marks, 1 otherwise. */
function cpWidth(cp: number): number {
  if (cp < 32 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

export function width(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) w += cpWidth(ch.codePointAt(0)!);
  return w;
}

/** Splits a styled string into tokens: escape sequences (no width) and single characters. */
function tokens(s: string): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of s.matchAll(ANSI)) {
    for (const ch of s.slice(last, m.index)) out.push(ch);
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  for (const ch of s.slice(last)) out.push(ch);
  return out;
}

/** Cuts a styled line to `cols` columns (styles closed with a reset). */
export function truncate(s: string, cols: number, ellipsis = '…'): string {
  if (width(s) <= cols) return s;
  let out = '';
  let w = 0;
  const limit = cols - width(ellipsis);
  for (const t of tokens(s)) {
    if (t.startsWith('\x1b')) {
      out += t;
      continue;
    }
    const cw = cpWidth(t.codePointAt(0)!);
    if (w + cw > limit) break;
    out += t;
    w += cw;
  }
  return `${out}\x1b[0m${ellipsis}`;
}

/**
 * Wraps a styled line at word boundaries to `cols` columns; words longer
 * than a line are cut. Styles open at a break are closed at the end of the
 * line and opened again on the next, so each line stands alone (a redraw
 * of one line never bleeds into another).
 */
export function wrap(line: string, cols: number, indent = ''): string[] {
  if (cols < 4) cols = 4;
  if (width(line) <= cols) return [line];
  const lines: string[] = [];
  let cur = '';
  let w = 0;
  let open: string[] = [];
  let word: string[] = [];
  let wordW = 0;
  const push = () => {
    lines.push(open.length ? `${cur}\x1b[0m` : cur);
    cur = indent + open.join('');
    w = width(indent);
  };
  const flushWord = () => {
    if (!word.length) return;
    if (w + wordW > cols && w > width(indent)) {
      // Drop the space that ended the previous line.
      cur = cur.replace(/ +((?:\x1b\[[0-9;]*m)*)$/, '$1');
      push();
    }
    for (const t of word) {
      if (t.startsWith('\x1b')) {
        cur += t;
        open = track(open, t);
        continue;
      }
      const cw = cpWidth(t.codePointAt(0)!);
      if (w + cw > cols) push();
      cur += t;
      w += cw;
    }
    word = [];
    wordW = 0;
  };
  for (const t of tokens(line)) {
    word.push(t);
    if (!t.startsWith('\x1b')) wordW += cpWidth(t.codePointAt(0)!);
    if (t === ' ') flushWord();
  }
  flushWord();
  if (stripAnsi(cur).trim() || !lines.length) lines.push(open.length ? `${cur}\x1b[0m` : cur);
  return lines;
}

const CLOSES: Record<string, RegExp> = {
  '22': /^\x1b\[[12]m$/,
  '23': /^\x1b\[3m$/,
  '24': /^\x1b\[4m$/,
  '27': /^\x1b\[7m$/,
  '29': /^\x1b\[9m$/,
  '39': /^\x1b\[(3[0-8]|9[0-7])m$/,
};

/** The styles open after `code`: a closing code removes what it closes, so a wrapped line reopens only what is still open. */
function track(open: string[], code: string): string[] {
  const m = /^\x1b\[(\d+)m$/.exec(code);
  if (!m) return open;
  if (m[1] === '0') return [];
  const closes = CLOSES[m[1]!];
  return closes ? open.filter((o) => !closes.test(o)) : [...open, code];
}

export function pad(s: string, cols: number): string {
  const w = width(s);
  return w >= cols ? s : s + ' '.repeat(cols - w);
}
