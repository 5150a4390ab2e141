/**
 * The chat page's state: the conversation list, and for the open
 * conversation its messages (history over REST, then live over the socket),
 * the answers being written, and its session info (agent, model, pin).
 */
import { batch, signal } from '@preact/signals';
import { api, query } from './api.ts';
import type { ServerFrame } from './live.ts';
import { liveClient } from './session.ts';
import { fromFrame, fromView, type MessageView } from '../../shared/api-types.ts';
import type { ChatMessage, Conversation, LiveAnswer, Routing, SessionInfo } from './types.ts';

export const conversations = signal<Conversation[]>([]);
export const showArchived = signal(false);
export const openId = signal<string | null>(null);
export const messages = signal<ChatMessage[]>([]);
export const answers = signal<ReadonlyMap<string, LiveAnswer>>(new Map());
export const info = signal<SessionInfo | null>(null);

const lastSeq = () => messages.value.at(-1)?.seq ?? 0;

function addMessage(m: ChatMessage): void {
  const list = messages.value;
  if (list.some((x) => x.id === m.id)) return;
  const next = [...list, m].sort((a, b) => a.seq - b.seq);
  messages.value = next;
}

function setAnswer(replyId: string, a: LiveAnswer | null): void {
  const next = new Map(answers.value);
  if (a) next.set(replyId, a);
  else next.delete(replyId);
  answers.value = next;
}

export async function loadConversations(): Promise<void> {
  const { items } = await api<{ items: Conversation[] }>('GET', `/api/conversations${query({ limit: 200, archived: showArchived.value ? 'true' : 'false' })}`);
  conversations.value = items;
}

/** Opens a conversation: its newest history, then live from the newest seq held. */
export async function openConversation(id: string): Promise<void> {
  const live = liveClient();
  const previous = openId.value;
  if (previous && previous !== id) live.unfollow(previous);
  batch(() => {
    openId.value = id;
    messages.value = [];
    answers.value = new Map();
    info.value = null;
  });
  const [{ items }, session] = await Promise.all([
    api<{ items: MessageView[] }>('GET', `/api/conversations/${id}/messages?limit=200`),
    api<SessionInfo>('GET', `/api/conversations/${id}/session`),
  ]);
  if (openId.value !== id) return;
  batch(() => {
    for (const v of items) addMessage(fromView(v));
    info.value = session;
  });
  await live.follow(id, lastSeq);
}

export function closeConversation(): void {
  const id = openId.value;
  if (id) liveClient().unfollow(id);
  openId.value = null;
}

/** What the socket says about the open conversation (and the list). */
export function onFrame(f: ServerFrame): void {
  if (f.type === 'conversation:updated') {
    void loadConversations().catch(() => undefined);
    return;
  }
  if (f.conversationId !== openId.value) return;
  switch (f.type) {
    case 'message:new':
      addMessage(fromFrame(f));
      break;
    case 'answer:started':
      setAnswer(f.replyId as string, {
        replyId: f.replyId as string,
        replyTo: f.replyTo as string,
        provider: f.provider as string,
        model: f.model as string,
        routing: (f.routing as Routing | null) ?? null,
        seq: f.seq as number,
        text: f.text as string,
        thinking: f.thinking as string,
      });
      break;
    case 'answer:delta': {
      const a = answers.value.get(f.replyId as string);
      if (!a || (f.seq as number) <= a.seq) break;
      setAnswer(a.replyId, { ...a, seq: f.seq as number, text: a.text + ((f.text as string | undefined) ?? ''), thinking: a.thinking + ((f.thinking as string | undefined) ?? '') });
      break;
    }
    case 'answer:final':
    case 'answer:failed':
    case 'answer:stopped':
      setAnswer(f.replyId as string, null);
      break;
    case 'session:info':
      info.value = f.info as SessionInfo;
      break;
    case 'subscription:ended':
      openId.value = null;
      void loadConversations().catch(() => undefined);
      break;
  }
}

let sent = 0;

/** Sends a message (or a `/command`) as the socket's `send`, exactly as REST would take it. */
export async function send(conversationId: string, content: string): Promise<{ command: { name: string; text: string } | null }> {
  const clientMessageId = `web-${Date.now().toString(36)}-${(sent++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const result = await liveClient().request({ type: 'send', conversationId, content, clientMessageId });
  return { command: (result.command as { name: string; text: string } | null) ?? null };
}

export function stop(conversationId: string): Promise<unknown> {
  return liveClient().request({ type: 'stop', conversationId });
}
