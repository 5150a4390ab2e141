/**
 * Fits a conversation into a model's context window. Past the threshold
 * (80 % by default) the older messages are handed to a summariser and the
 * summary stands in for them; the newest messages always go verbatim.
 */
import type { ChatMessage } from '../providers/types.ts';
import type { MessageRow } from './conversation-store.ts';

/** A deliberately simple estimate (≈4 characters a token, plus framing), the same for every model. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

export function messageTokens(m: ChatMessage): number {
  let n = estimateTokens(m.content);
  for (const call of m.toolCalls ?? []) n += estimateTokens(JSON.stringify(call.arguments)) + estimateTokens(call.name);
  for (const _image of m.images ?? []) n += 800;
  return n;
}

/**
 * Conversation order, which is not storage order: an answer is stored after
 * whatever arrived while it was written, yet belongs right after its
 * question. Each message is anchored to the message it replies to; rows
 * sort by (anchor, storage order).
 */
export function anchorSeq(row: MessageRow, seqById: Map<string, number>): number {
  return (row.replyToId ? seqById.get(row.replyToId) : undefined) ?? row.seq;
}

export function logicalOrder(rows: MessageRow[]): Array<MessageRow & { anchor: number }> {
  const seqById = new Map(rows.map((r) => [r.id, r.seq]));
  return rows.map((r) => ({ ...r, anchor: anchorSeq(r, seqById) })).sort((a, b) => a.anchor - b.anchor || a.seq - b.seq);
}

/** Stored messages → what the model sees. Command results and notices stay out. */
export function toChatMessages(rows: MessageRow[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const row of rows) {
    if (row.role === 'system' || row.redactedAt) continue;
    if (row.role === 'user' && (row.metadata as { command?: boolean }).command) continue;
    if (row.role === 'tool') {
      out.push({ role: 'tool', content: row.content, toolCallId: row.toolCallId ?? '' });
      continue;
    }
    if (row.role === 'assistant') {
      out.push({ role: 'assistant', content: row.content, ...(row.toolCalls?.length ? { toolCalls: row.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: (c.arguments ?? {}) as Record<string, unknown> })) } : {}) });
      continue;
    }
    const images = row.attachments
      .filter((a) => a.mimeType.startsWith('image/') && a.url.startsWith('data:'))
      .map((a) => ({ mimeType: a.mimeType, data: a.url.slice(a.url.indexOf(',') + 1) }));
    const sender = (row.metadata as { senderName?: string }).senderName;
    const content = sender ? `[${sender}] ${row.content}` : row.content;
    out.push({ role: 'user', content, ...(images.length ? { images } : {}) });
  }
  return out;
}

export interface ContextPlan {
  /** Rows that must be folded into the summary before the request fits. */
  toSummarize: MessageRow[];
  /** Rows sent verbatim. */
  keep: MessageRow[];
  estimatedTokens: number;
  budget: number;
}

/**
 * Decides what to summarise. `rows` are the messages after the current
 * summary; `fixedTokens` covers the system prompt, summary and tools.
 */
export function planContext(rows: MessageRow[], options: { contextWindow: number; threshold: number; keepRecent: number; fixedTokens: number; reserveOutput: number }): ContextPlan {
  const budget = Math.floor(options.contextWindow * options.threshold) - options.reserveOutput;
  const tokens = rows.map((r) => messageTokens(toChatMessages([r])[0] ?? { role: 'user', content: '' }));
  const total = options.fixedTokens + tokens.reduce((a, b) => a + b, 0);
  if (total <= budget) return { toSummarize: [], keep: rows, estimatedTokens: total, budget };
  // Over budget: fold everything but the newest `keepRecent` messages (fewer
  // if they do not fit; the newest always stays), so the summary buys
  // headroom instead of being redone on every turn. A tool result never
  // starts the kept part, since it must follow its call.
  let keepFrom = rows.length;
  let used = options.fixedTokens;
  while (keepFrom > 0 && rows.length - keepFrom < options.keepRecent) {
    const next = tokens[keepFrom - 1]!;
    if (keepFrom < rows.length && used + next > budget) break;
    used += next;
    keepFrom -= 1;
  }
  // Never split a question from its answer (or a tool call from its result).
  const anchorOf = (r: MessageRow) => (r as MessageRow & { anchor?: number }).anchor ?? r.seq;
  while (keepFrom > 0 && keepFrom < rows.length - 1 && anchorOf(rows[keepFrom]!) === anchorOf(rows[keepFrom - 1]!)) {
    used -= tokens[keepFrom]!;
    keepFrom += 1;
  }
  return { toSummarize: rows.slice(0, keepFrom), keep: rows.slice(keepFrom), estimatedTokens: used, budget };
}
