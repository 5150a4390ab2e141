/**
 * Markdown to terminal lines: headings, paragraphs, lists, block quotes,
 * tables, rules and fenced code (with syntax colours), wrapped to the
 * width given. Parsed by markdown-it (already a dependency of the gateway)
 * with raw HTML off: an answer's `<script>` is shown as text, never
 * interpreted. An answer still streaming is rendered the same way; an
 * unclosed fence simply shows as code until it closes.
 */
import MarkdownIt from 'markdown-it';
import { highlight } from './highlight.ts';
import { pad, style, truncate, width, wrap } from './ansi.ts';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
type Token = ReturnType<typeof md.parse>[number];

function inline(tokens: Token[] | null): string {
  let out = '';
  let link: string | null = null;
  for (const t of tokens ?? []) {
    switch (t.type) {
      case 'text':
        out += t.content;
        break;
      case 'code_inline':
        out += style.yellow(`\`${t.content}\``);
        break;
      case 'strong_open':
        out += '\x1b[1m';
        break;
      case 'strong_close':
        out += '\x1b[22m';
        break;
      case 'em_open':
        out += '\x1b[3m';
        break;
      case 'em_close':
        out += '\x1b[23m';
        break;
      case 's_open':
        out += '\x1b[9m';
        break;
      case 's_close':
        out += '\x1b[29m';
        break;
      case 'link_open':
        link = String(t.attrGet('href') ?? '');
        out += '\x1b[4m';
        break;
      case 'link_close':
        out += '\x1b[24m';
        if (link && !out.endsWith(link)) out += style.gray(` (${link})`);
        link = null;
        break;
      case 'image':
        out += style.gray(`[image: ${t.content || t.attrGet('src') || ''}]`);
        break;
      case 'softbreak':
        out += ' ';
        break;
      case 'hardbreak':
        out += '\n';
        break;
      default:
        out += t.content;
    }
  }
  return out;
}

interface Frame {
  kind: 'ul' | 'ol' | 'quote';
  n: number;
}

/** Renders markdown to lines no wider than `cols`. */
export function renderMarkdown(text: string, cols: number): string[] {
  const tokens = md.parse(text, {});
  const out: string[] = [];
  const stack: Frame[] = [];
  /** The prefix of the first line of the current list item (its bullet), used once. */
  let bullet: string | null = null;
  const prefixOf = (frames: Frame[]) => frames.map((f) => (f.kind === 'quote' ? style.gray('│ ') : f.kind === 'ul' ? '   ' : '    ')).join('');
  const prefix = () => prefixOf(stack);
  const emit = (line: string, firstPrefix?: string) => {
    const p = prefix();
    const first = firstPrefix ?? p;
    const room = Math.max(10, cols - width(p));
    wrap(line, room).forEach((l, i) => out.push((i === 0 ? first : p) + l));
  };
  const blank = () => {
    if (out.length && out[out.length - 1] !== '' && !stack.some((f) => f.kind !== 'quote')) out.push('');
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t.type) {
      case 'heading_open': {
        const level = Number(t.tag.slice(1));
        const content = inline(tokens[i + 1]!.children);
        blank();
        emit(style.bold(level <= 2 ? style.cyan(`${'#'.repeat(level)} ${content}`) : `${'#'.repeat(level)} ${content}`));
        i += 2;
        break;
      }
      case 'paragraph_open': {
        const content = inline(tokens[i + 1]!.children);
        if (!t.hidden) blank();
        for (const [k, line] of content.split('\n').entries()) {
          if (k === 0 && bullet !== null) {
            emit(line, prefixOf(stack.slice(0, -1)) + bullet);
            bullet = null;
          } else emit(line);
        }
        i += 2;
        break;
      }
      case 'bullet_list_open':
      case 'ordered_list_open':
        if (!stack.some((f) => f.kind !== 'quote')) blank();
        stack.push({ kind: t.type === 'bullet_list_open' ? 'ul' : 'ol', n: Number(t.attrGet('start') ?? 1) });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        stack.pop();
        break;
      case 'list_item_open': {
        const list = [...stack].reverse().find((f) => f.kind !== 'quote')!;
        bullet = list.kind === 'ul' ? style.cyan(' • ') : style.cyan(`${list.n}. `.padStart(4));
        list.n += 1;
        break;
      }
      case 'blockquote_open':
        blank();
        stack.push({ kind: 'quote', n: 0 });
        break;
      case 'blockquote_close':
        stack.pop();
        break;
      case 'hr':
        blank();
        out.push(prefix() + style.gray('─'.repeat(Math.max(4, Math.min(cols - width(prefix()), 60)))));
        break;
      case 'fence':
      case 'code_block': {
        blank();
        const lang = t.info.trim().split(/\s+/)[0] ?? '';
        const code = t.content.replace(/\n$/, '');
        const p = prefix();
        const room = Math.max(10, cols - width(p) - 2);
        out.push(p + style.gray(`╭─ ${lang || 'code'}`));
        for (const line of highlight(code, lang)) for (const part of wrap(line, room)) out.push(p + style.gray('│ ') + part);
        out.push(p + style.gray('╰─'));
        break;
      }
      case 'table_open': {
        blank();
        const rows: string[][] = [];
        let j = i + 1;
        let row: string[] = [];
        for (; j < tokens.length && tokens[j]!.type !== 'table_close'; j++) {
          const c = tokens[j]!;
          if (c.type === 'tr_open') row = [];
          else if (c.type === 'tr_close') rows.push(row);
          else if (c.type === 'inline') row.push(inline(c.children));
        }
        i = j;
        out.push(...table(rows, cols - width(prefix())).map((l) => prefix() + l));
        break;
      }
      case 'html_block':
        emit(t.content.trimEnd());
        break;
      default:
        break;
    }
  }
  return out;
}

function table(rows: string[][], cols: number): string[] {
  if (!rows.length) return [];
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, c) => Math.max(3, ...rows.map((r) => width(r[c] ?? ''))));
  // Too wide: shrink the widest columns until it fits (cells are then cut with …).
  const total = () => widths.reduce((a, b) => a + b, 0) + 3 * n + 1;
  while (total() > cols && Math.max(...widths) > 3) widths[widths.indexOf(Math.max(...widths))]! -= 1;
  const line = (l: string, m: string, r: string) => style.gray(l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r);
  const cells = (r: string[], head: boolean) =>
    style.gray('│') + widths.map((w, c) => ` ${pad(truncate(head ? style.bold(r[c] ?? '') : (r[c] ?? ''), w), w)} `).join(style.gray('│')) + style.gray('│');
  const out = [line('┌', '┬', '┐'), cells(rows[0]!, true), line('├', '┼', '┤')];
  for (const r of rows.slice(1)) out.push(cells(r, false));
  out.push(line('└', '┴', '┘'));
  return out;
}
