/**
 * The input line: multi-line text with a cursor, history (↑/↓ on the first
 * or last line), the usual editing keys (Ctrl-A/E/K/U/W, Alt-←/→), and
 * the rows it takes on screen, hard-wrapped to the width so the cursor's
 * place is exact.
 */
import { width } from './ansi.ts';

export class LineEditor {
  text = '';
  cursor = 0;
  private index: number;
  private draft = '';

  constructor(readonly history: string[] = []) {
    this.index = history.length;
  }

  set(text: string): void {
    this.text = text;
    this.cursor = text.length;
  }

  insert(s: string): void {
    this.text = this.text.slice(0, this.cursor) + s + this.text.slice(this.cursor);
    this.cursor += s.length;
  }

  backspace(): void {
    if (this.cursor === 0) return;
    const cut = prevBoundary(this.text, this.cursor);
    this.text = this.text.slice(0, cut) + this.text.slice(this.cursor);
    this.cursor = cut;
  }

  del(): void {
    if (this.cursor >= this.text.length) return;
    this.text = this.text.slice(0, this.cursor) + this.text.slice(nextBoundary(this.text, this.cursor));
  }

  left(): void {
    this.cursor = prevBoundary(this.text, this.cursor);
  }

  right(): void {
    this.cursor = nextBoundary(this.text, this.cursor);
  }

  wordLeft(): void {
    const m = /\S*\s*$/.exec(this.text.slice(0, this.cursor));
    this.cursor -= m ? m[0].length : 0;
  }

  wordRight(): void {
    const m = /^\s*\S*/.exec(this.text.slice(this.cursor));
    this.cursor += m ? m[0].length : 0;
  }

  private lineStart(): number {
    return this.text.lastIndexOf('\n', this.cursor - 1) + 1;
  }

  private lineEnd(): number {
    const e = this.text.indexOf('\n', this.cursor);
    return e < 0 ? this.text.length : e;
  }

  home(): void {
    this.cursor = this.lineStart();
  }

  end(): void {
    this.cursor = this.lineEnd();
  }

  killToEnd(): void {
    this.text = this.text.slice(0, this.cursor) + this.text.slice(this.lineEnd());
  }

  killToStart(): void {
    const s = this.lineStart();
    this.text = this.text.slice(0, s) + this.text.slice(this.cursor);
    this.cursor = s;
  }

  deleteWord(): void {
    const before = this.text.slice(0, this.cursor);
    const m = /\S*\s*$/.exec(before);
    const cut = this.cursor - (m ? m[0].length : 0);
    this.text = this.text.slice(0, cut) + this.text.slice(this.cursor);
    this.cursor = cut;
  }

  /** ↑: the line above, or the previous history entry from the first line. */
  up(): void {
    const start = this.lineStart();
    if (start === 0) return this.recall(-1);
    const col = this.cursor - start;
    const prevStart = this.text.lastIndexOf('\n', start - 2) + 1;
    this.cursor = Math.min(prevStart + col, start - 1);
  }

  down(): void {
    const end = this.lineEnd();
    if (end === this.text.length) return this.recall(1);
    const col = this.cursor - this.lineStart();
    const nextEnd = this.text.indexOf('\n', end + 1);
    this.cursor = Math.min(end + 1 + col, nextEnd < 0 ? this.text.length : nextEnd);
  }

  private recall(step: number): void {
    const next = this.index + step;
    if (next < 0 || next > this.history.length) return;
    if (this.index === this.history.length) this.draft = this.text;
    this.index = next;
    this.set(next === this.history.length ? this.draft : this.history[next]!);
  }

  /** Takes the text to send: into the history (not twice in a row), the line emptied. */
  take(): string {
    const text = this.text;
    if (text.trim() && this.history.at(-1) !== text) this.history.push(text);
    this.index = this.history.length;
    this.draft = '';
    this.set('');
    return text;
  }

  /**
   * The rows the text takes at `cols` columns after `prompt` (continuation
   * rows are indented as far), and the cursor's row and column among them.
   */
  layout(cols: number, prompt: string): { rows: string[]; cursorRow: number; cursorCol: number } {
    const indent = ' '.repeat(width(prompt));
    const room = Math.max(4, cols - indent.length - 1);
    const rows: string[] = [];
    let cursorRow = 0;
    let cursorCol = 0;
    let offset = 0;
    for (const [i, line] of this.text.split('\n').entries()) {
      let cur = '';
      let w = 0;
      let pos = offset;
      const flush = () => {
        rows.push((rows.length === 0 ? prompt : indent) + cur);
        cur = '';
        w = 0;
      };
      for (const ch of line) {
        if (pos === this.cursor) {
          cursorRow = rows.length;
          cursorCol = indent.length + w;
        }
        const cw = width(ch);
        if (w + cw > room) {
          flush();
          if (pos === this.cursor) {
            cursorRow = rows.length;
            cursorCol = indent.length;
          }
        }
        cur += ch;
        w += cw;
        pos += ch.length;
      }
      if (pos === this.cursor) {
        cursorRow = rows.length;
        cursorCol = indent.length + w;
      }
      flush();
      offset += line.length + 1;
      void i;
    }
    return { rows, cursorRow, cursorCol };
  }
}

function prevBoundary(s: string, i: number): number {
  if (i <= 0) return 0;
  const code = s.charCodeAt(i - 1);
  return code >= 0xdc00 && code <= 0xdfff && i >= 2 ? i - 2 : i - 1;
}

function nextBoundary(s: string, i: number): number {
  if (i >= s.length) return s.length;
  const code = s.charCodeAt(i);
  return code >= 0xd800 && code <= 0xdbff ? i + 2 : i + 1;
}
