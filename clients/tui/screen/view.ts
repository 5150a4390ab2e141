/**
 * Drawing: the chat view (status line, the log, completion, the input, a
 * key hint) and the conversation list, as rows of styled text for the
 * terminal to draw. Pure functions of the state: resizing just draws again.
 */
import { receiptParts, type ChatMessage, type Conversation } from '../types.ts';
import { pad, style, truncate, width, wrap } from './ansi.ts';
import type { LineEditor } from './editor.ts';
import type { ChatState, LiveAnswer, Notice } from './state.ts';

export interface Completion {
  items: Array<{ value: string; hint: string }>;
  selected: number;
}

export interface ChatUi {
  editor: LineEditor;
  completion: Completion | null;
  /** Rows scrolled up from the bottom of the log (0: following the newest). */
  scroll: number;
  showThinking: boolean;
  hint: string | null;
}

export interface Frame {
  lines: string[];
  cursor: { row: number; col: number } | null;
  /** How many log rows there are above the visible ones (to bound scrolling). */
  maxScroll: number;
}

const INDENT = '  ';
const time = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toTimeString().slice(0, 5);
};
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

/**
 * markdown-it is loaded after the first frame (start-up time): until then
 * text is shown plain, wrapped; the log is drawn again once it is in.
 */
let renderMarkdown: ((text: string, cols: number) => string[]) | null = null;
export async function loadMarkdown(): Promise<void> {
  renderMarkdown = (await import('./markdown.ts')).renderMarkdown;
  cache.clear();
}
const markdownOrPlain = (text: string, cols: number) => (renderMarkdown ? renderMarkdown(text, cols) : text.split('\n').flatMap((l) => wrap(l, cols)));

const cache = new Map<string, { key: string; lines: string[] }>();

function body(text: string, cols: number, markdown: boolean): string[] {
  if (!markdown) return text.split('\n').flatMap((l) => wrap(l, cols - INDENT.length)).map((l) => INDENT + l);
  return markdownOrPlain(text, cols - INDENT.length).map((l) => INDENT + l);
}

function thinkingLines(thinking: string, cols: number, expanded: boolean, live: boolean): string[] {
  if (!thinking) return [];
  if (!expanded) return [INDENT + style.dim(style.italic(`▸ ${live ? 'thinking…' : 'thought'} (${words(thinking)} words) — Ctrl-T shows it`))];
  return [INDENT + style.dim(style.italic('▾ thinking (Ctrl-T hides it)')), ...thinking.split('\n').flatMap((l) => wrap(l, cols - 4)).map((l) => INDENT + style.dim(style.italic(`  ${l}`)))];
}

/** The receipt under an answer: model, provider, rule and reason, tokens and cost — wrapped, never cut (people read why). */
export function footerLines(m: Pick<ChatMessage, 'provider' | 'model' | 'routing' | 'usage'>, cols: number): string[] {
  const parts = receiptParts(m);
  if (!parts.length) return [];
  const text = parts.map((p) => `${p.label}: ${p.value}`).join(' · ');
  return wrap(`╰ ${text}`, cols - INDENT.length, '  ').map((l) => INDENT + style.gray(l));
}

function messageLines(m: ChatMessage, cols: number, ui: ChatUi, thinking: string | undefined): string[] {
  const key = `${cols}|${ui.showThinking}|${thinking?.length ?? 0}|${m.content.length}`;
  const hit = cache.get(m.id);
  if (hit && hit.key === key) return hit.lines;
  let lines: string[];
  const via = m.role === 'user' && m.channel ? ` · via ${m.channel}` : '';
  switch (m.role) {
    case 'user':
      lines = [style.bold(style.green('you')) + style.gray(` · ${time(m.createdAt)}${via}`), ...body(m.content, cols, false)];
      break;
    case 'assistant':
      lines = [style.bold(style.cyan('assistant')) + style.gray(` · ${time(m.createdAt)}${via}`), ...thinkingLines(thinking ?? '', cols, ui.showThinking, false), ...body(m.content, cols, true), ...footerLines(m, cols)];
      break;
    case 'system':
      // Command answers and notices (a refused route, a stopped answer): markdown behind a bar.
      lines = [style.yellow('mosaic') + style.gray(` · ${time(m.createdAt)}`), ...markdownOrPlain(m.content, cols - 4).map((l) => INDENT + style.yellow('│ ') + l)];
      break;
    default:
      lines = [INDENT + style.gray(truncate(`⚙ tool result: ${m.content.replace(/\s+/g, ' ')}`, cols - 4))];
  }
  lines.push('');
  cache.set(m.id, { key, lines });
  return lines;
}

function answerLines(a: LiveAnswer, cols: number, ui: ChatUi): string[] {
  return [
    style.bold(style.cyan('assistant')) + style.gray(` · writing with ${a.provider}/${a.model}… (Esc stops)`),
    ...thinkingLines(a.thinking, cols, ui.showThinking, true),
    ...body(`${a.text}▍`, cols, true),
    '',
  ];
}

function noticeLines(n: Notice, cols: number): string[] {
  const bar = n.tone === 'error' ? style.red('│ ') : style.gray('│ ');
  return [...markdownOrPlain(n.text, cols - 4).map((l) => INDENT + bar + l), ''];
}

export function statusLine(state: ChatState, cols: number): string {
  const c = state.conversation;
  const info = state.info;
  const model = info ? (info.pinned ? `${info.model} (pinned)` : `auto${info.model ? ` → ${info.model}` : ''}`) : '…';
  const b = state.budget;
  const budget = b ? `${b.state ?? 'ok'}${typeof b.spentUsd === 'number' && typeof b.monthlyUsd === 'number' ? ` $${b.spentUsd.toFixed(2)}/$${b.monthlyUsd.toFixed(2)}` : ''}` : 'none';
  const conn = state.connection.status;
  const dot = conn === 'open' ? style.green('●') : conn === 'ended' ? style.red('●') : style.yellow('●');
  const connText = conn === 'open' ? 'online' : conn === 'ended' ? 'signed out' : conn === 'connecting' ? 'connecting…' : 'reconnecting…';
  const title = truncate(c?.title || (c ? 'Untitled conversation' : state.loading ? 'loading…' : 'no conversation'), Math.max(12, Math.floor(cols / 4)));
  // The connection first: it must stay visible however narrow the terminal.
  const parts = [`${dot} ${connText}`, style.bold(title), `agent: ${info?.agent.displayName ?? '…'}`, `model: ${model}`, `budget: ${budget}`];
  return style.inverse(pad(truncate(` ${parts.join(' │ ')} `, cols), cols));
}

export function drawChat(state: ChatState, ui: ChatUi, cols: number, rows: number): Frame {
  const prompt = style.bold('› ');
  const layout = ui.editor.layout(cols, prompt);
  const maxInput = Math.max(1, Math.min(6, rows - 6));
  const first = Math.max(0, Math.min(layout.cursorRow - maxInput + 1, layout.rows.length - maxInput));
  const inputRows = layout.rows.slice(first, first + maxInput);
  const completion = ui.completion ? ui.completion.items.slice(0, Math.min(6, rows - inputRows.length - 4)) : [];
  const area = Math.max(1, rows - 2 - inputRows.length - completion.length);

  const log: string[] = [];
  if (state.loading && !state.messages.length) log.push(style.gray('Loading the conversation…'));
  else if (!state.messages.length && !state.answers.size) log.push(style.gray('No messages yet. Type below and press Enter; /help lists the commands, Ctrl-O the conversations.'), '');
  const notices = [...state.notices];
  for (const m of state.messages) {
    while (notices.length && notices[0]!.afterSeq < m.seq) log.push(...noticeLines(notices.shift()!, cols));
    log.push(...messageLines(m, cols, ui, state.thinking.get(m.id)));
  }
  for (const a of state.answers.values()) log.push(...answerLines(a, cols, ui));
  for (const n of notices) log.push(...noticeLines(n, cols));

  const maxScroll = Math.max(0, log.length - area);
  const scroll = Math.min(ui.scroll, maxScroll);
  const visible = log.slice(Math.max(0, log.length - area - scroll), log.length - scroll);
  const lines = [statusLine(state, cols), ...visible];
  while (lines.length < 1 + area) lines.push('');
  if (scroll > 0) lines[lines.length - 1] = style.inverse(` ↓ ${scroll} more rows below — PgDn `);
  const sel = ui.completion?.selected ?? -1;
  const labelWidth = Math.min(32, Math.max(...completion.map((c) => width(c.value)), 0) + 2);
  for (const [i, c] of completion.entries()) {
    const row = `${pad(c.value, labelWidth)}${style.gray(c.hint)}`;
    lines.push(i === sel ? style.inverse(pad(truncate(` ${row}`, cols), cols)) : truncate(` ${row}`, cols));
  }
  const inputTop = lines.length;
  lines.push(...inputRows);
  const hint = (ui.hint && !(ui.hint.startsWith('Stopping') && !state.streaming) ? ui.hint : null) ?? (state.streaming ? 'Esc or Ctrl-C stops the answer · PgUp/PgDn scroll · Ctrl-D quits' : 'Enter sends · Alt-Enter new line · Tab completes / · Ctrl-O conversations · Ctrl-D quits');
  lines.push(style.gray(truncate(hint, cols)));
  return { lines, cursor: { row: inputTop + layout.cursorRow - first, col: layout.cursorCol }, maxScroll };
}

export interface ListUi {
  items: Conversation[];
  archived: boolean;
  selected: number;
  /** Search mode: the query being typed, and the hits once searched. */
  search: { query: string; hits: Array<{ conversationId: string; conversationTitle: string | null; snippet: string }> | null } | null;
  error: string | null;
}

export function drawList(ui: ListUi, currentId: string | null, cols: number, rows: number): Frame {
  const title = ui.search ? 'Search your messages' : ui.archived ? 'Archived conversations' : 'Conversations';
  const lines = [style.inverse(pad(truncate(` ${style.bold(title)} │ ↑↓ choose · Enter open · n new · a ${ui.archived ? 'unarchive' : 'archive'} · / search · Tab ${ui.archived ? 'active' : 'archived'} · Esc back`, cols), cols))];
  const area = rows - 3;
  if (ui.search?.hits) {
    if (!ui.search.hits.length) lines.push(style.gray(`Nothing found for "${ui.search.query}".`));
    for (const [i, h] of ui.search.hits.slice(0, area).entries()) {
      const row = `${h.conversationTitle || 'Untitled conversation'} — ${h.snippet.replace(/<<|>>/g, '').replace(/\s+/g, ' ')}`;
      lines.push(i === ui.selected ? style.inverse(pad(truncate(` ${row}`, cols), cols)) : truncate(` ${row}`, cols));
    }
  } else {
    if (!ui.items.length) lines.push(style.gray(ui.archived ? 'No archived conversations.' : 'No conversations yet: n starts one.'));
    const start = Math.max(0, Math.min(ui.selected - Math.floor(area / 2), ui.items.length - area));
    for (const [k, c] of ui.items.slice(start, start + area).entries()) {
      const i = start + k;
      const when = new Date(c.updatedAt).toISOString().slice(0, 16).replace('T', ' ');
      const mark = c.id === currentId ? '▸ ' : '  ';
      const row = `${mark}${pad(truncate(c.title || 'Untitled conversation', Math.max(10, cols - 24)), Math.max(10, cols - 24))} ${style.gray(when)}`;
      lines.push(i === ui.selected ? style.inverse(pad(truncate(row, cols), cols)) : truncate(row, cols));
    }
  }
  while (lines.length < rows - 2) lines.push('');
  lines.push(ui.error ? style.red(truncate(ui.error, cols)) : '');
  if (ui.search && ui.search.hits === null) {
    const prompt = `search: ${ui.search.query}`;
    lines.push(prompt);
    return { lines, cursor: { row: rows - 1, col: width(prompt) }, maxScroll: 0 };
  }
  lines.push(style.gray(ui.search ? 'Enter opens the conversation · Esc back to the list' : `${ui.items.length} conversation(s)`));
  return { lines, cursor: null, maxScroll: 0 };
}
