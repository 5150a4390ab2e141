/**
 * The live side of one answer: its start (with the routing decision) and
 * its text and thinking as numbered deltas. Text is coalesced for at most
 * `intervalMs`, so a fast model costs a bounded number of publishes; the
 * numbering runs across failed attempts, so a surface never sees a number
 * twice for one answer. `flush()` publishes what is pending: it runs
 * before the answer is stored, so the deltas add up to the stored text.
 */
import type { AnswerStartedEvent } from '../conversation-bus.ts';
import type { ConversationEvents } from '../conversation-events.ts';

export class AnswerStream {
  private seq = 0;
  private step = 0;
  private stepDone = false;
  private text = '';
  private thinking = '';
  private timer: NodeJS.Timeout | null = null;
  private lastPublish = 0;
  private firstAt: number | null = null;
  /** The latest publish: events of one answer go out in order on one connection; this is awaited at the end. */
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly events: ConversationEvents,
    private readonly answer: { conversationId: string; replyId: string; replyTo: string },
    private readonly intervalMs: number,
  ) {}

  /** When the first text or thinking of this answer arrived (its time to first token); null until then. */
  get firstDeltaAt(): number | null {
    return this.firstAt;
  }

  /** A model starts on the answer (again, after a failed attempt: surfaces drop what they showed of it). */
  async started(by: Pick<AnswerStartedEvent, 'agentId' | 'provider' | 'model' | 'routing' | 'retry'>): Promise<void> {
    await this.flush();
    this.step = 0;
    this.stepDone = false;
    this.send({ type: 'answer:started', ...this.answer, ...by, seq: this.seq });
    await this.last;
  }

  addText(delta: string): void {
    this.beginStep();
    this.text += delta;
    this.schedule();
  }

  addThinking(delta: string): void {
    this.beginStep();
    this.thinking += delta;
    this.schedule();
  }

  /** The model called tools: what it writes next belongs to the next step (its next call). */
  endStep(): void {
    if (this.stepDone) return;
    this.publishPending();
    this.stepDone = true;
  }

  /** Publishes what is pending, and waits until every delta so far is published. */
  async flush(): Promise<void> {
    this.publishPending();
    await this.last;
  }

  private beginStep(): void {
    this.firstAt ??= Date.now();
    if (!this.stepDone) return;
    this.stepDone = false;
    this.step += 1;
  }

  private publishPending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.text && !this.thinking) return;
    this.send({
      type: 'answer:delta',
      conversationId: this.answer.conversationId,
      replyId: this.answer.replyId,
      seq: ++this.seq,
      step: this.step,
      ...(this.text ? { text: this.text } : {}),
      ...(this.thinking ? { thinking: this.thinking } : {}),
    });
    this.text = '';
    this.thinking = '';
    this.lastPublish = Date.now();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = this.lastPublish + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.publishPending();
      return;
    }
    this.timer = setTimeout(() => this.publishPending(), wait);
  }

  private send(event: Parameters<ConversationEvents['publish']>[0]): void {
    // Issued at once, in call order: the connection keeps the order of the deltas.
    this.last = this.events.publish(event);
  }
}
