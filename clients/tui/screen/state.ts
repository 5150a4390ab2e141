/**
 * What the TUI shows, kept apart from drawing it: the open conversation's
 * messages (REST history, then live from the socket, each once, in seq
 * order), the answers being written, notices (command results and client
 * messages, never stored), the session (agent, model, pin), the budget and
 * the connection. Every change calls `changed` so the screen redraws.
 */
import type { RestClient } from '../api.ts';
import type { LiveClient, LiveStatus } from '../live.ts';
import { fromFrame, fromView, type Budget, type ChatMessage, type Conversation, type Frame, type LiveAnswer, type MessageView, type Routing, type SessionInfo } from '../types.ts';

export type { LiveAnswer };

export interface Notice {
  id: string;
  /** Shown after the message with this seq. */
  afterSeq: number;
  text: string;
  tone: 'info' | 'error';
}

let noticeCounter = 0;

export class ChatState {
  conversation: Conversation | null = null;
  messages: ChatMessage[] = [];
  answers = new Map<string, LiveAnswer>();
  /** Thinking seen while answers streamed, kept for the stored reply (the store does not return it). */
  thinking = new Map<string, string>();
  notices: Notice[] = [];
  info: SessionInfo | null = null;
  budget: Budget | null = null;
  connection: { status: LiveStatus; detail?: string } = { status: 'connecting' };
  loading = false;

  constructor(
    private readonly rest: RestClient,
    private readonly live: LiveClient,
    private readonly changed: () => void,
  ) {
    live.on((f) => this.onFrame(f));
  }

  get lastSeq(): number {
    return this.messages.at(-1)?.seq ?? 0;
  }

  /** A notice in the log, after what is there now. */
  notify(text: string, tone: Notice['tone'] = 'info'): void {
    this.notices.push({ id: `n${++noticeCounter}`, afterSeq: this.lastSeq, text, tone });
    this.changed();
  }

  setConnection(status: LiveStatus, detail?: string): void {
    this.connection = { status, ...(detail ? { detail } : {}) };
    // Reconnected: the resubscribe replays what was missed, and an answer still being written comes again as answer:started.
    if (status === 'open') this.answers.clear();
    this.changed();
  }

  /** Opens a conversation: its newest history, the session and budget, then live from the newest seq held. */
  async open(id: string): Promise<void> {
    const previous = this.conversation?.id;
    if (previous && previous !== id) this.live.unfollow(previous);
    this.loading = true;
    this.changed();
    const [conversation, { items }, info] = await Promise.all([
      this.rest.get<Conversation>(`/api/conversations/${id}`),
      this.rest.get<{ items: MessageView[] }>(`/api/conversations/${id}/messages?limit=200`),
      this.rest.get<SessionInfo>(`/api/conversations/${id}/session`),
    ]);
    this.conversation = conversation;
    this.messages = items.map(fromView).sort((a, b) => a.seq - b.seq);
    this.answers.clear();
    this.notices = [];
    this.info = info;
    this.loading = false;
    void this.refreshBudget();
    // Live from the newest seq held; a failure shows as a notice (the history is on screen either way).
    this.live.follow(id, () => this.lastSeq).catch((err: Error) => this.notify(`Live updates for this conversation failed: ${err.message}`, 'error'));
    this.changed();
  }

  async refreshBudget(): Promise<void> {
    try {
      const usage = await this.rest.get<{ budget: Budget | null }>('/api/usage');
      this.budget = usage.budget;
      this.changed();
    } catch {
      // The status line says "budget ?" until the next answer.
    }
  }

  async refreshSession(): Promise<void> {
    if (!this.conversation) return;
    const id = this.conversation.id;
    const [conversation, info] = await Promise.all([this.rest.get<Conversation>(`/api/conversations/${id}`), this.rest.get<SessionInfo>(`/api/conversations/${id}/session`)]);
    if (this.conversation?.id !== id) return;
    this.conversation = conversation;
    this.info = info;
    this.changed();
  }

  private add(m: ChatMessage): void {
    if (this.messages.some((x) => x.id === m.id)) return;
    this.messages.push(m);
    this.messages.sort((a, b) => a.seq - b.seq);
  }

  private onFrame(f: Frame): void {
    const current = this.conversation;
    if (f.type === 'conversation:updated' && current && f.conversationId === current.id && typeof f.title === 'string') {
      this.conversation = { ...current, title: f.title };
      this.changed();
      return;
    }
    if (f.conversationId !== this.conversation?.id) return;
    switch (f.type) {
      case 'message:new': {
        const m = fromFrame(f);
        this.add(m);
        if (m.role === 'assistant') {
          this.answers.delete(m.id);
          void this.refreshBudget();
        }
        break;
      }
      case 'answer:started': {
        const replyId = f.replyId as string;
        // Already stored (a replay raced the live start): nothing is being written.
        if (this.messages.some((m) => m.id === replyId)) break;
        this.answers.set(replyId, {
          replyId,
          replyTo: f.replyTo as string,
          provider: f.provider as string,
          model: f.model as string,
          routing: (f.routing as Routing | null) ?? null,
          seq: (f.seq as number) ?? 0,
          text: (f.text as string) ?? '',
          thinking: (f.thinking as string) ?? '',
        });
        break;
      }
      case 'answer:delta': {
        const a = this.answers.get(f.replyId as string);
        if (!a || (f.seq as number) <= a.seq) return;
        a.seq = f.seq as number;
        a.text += (f.text as string | undefined) ?? '';
        a.thinking += (f.thinking as string | undefined) ?? '';
        if (a.thinking) this.thinking.set(a.replyId, a.thinking);
        break;
      }
      case 'answer:final':
      case 'answer:failed':
      case 'answer:stopped':
        this.answers.delete(f.replyId as string);
        if (f.type === 'answer:stopped') this.notify('Answer stopped.');
        break;
      case 'session:info':
        this.info = f.info as SessionInfo;
        break;
      case 'subscription:ended':
        this.notify(`This conversation ended (${String(f.reason ?? 'deleted')}); Ctrl-O lists the others.`, 'error');
        break;
      default:
        return;
    }
    this.changed();
  }

  get streaming(): boolean {
    return this.answers.size > 0;
  }
}
