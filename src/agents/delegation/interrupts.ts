/**
 * A person's interrupts of an exchange: kept for the whole answer, and
 * handed to each agent of the exchange once, at its next model call, marked
 * as coming from a human — so every agent sees it and its next step must
 * acknowledge it.
 */
import type { ChatMessage } from '../../providers/types.ts';

export interface Interrupt {
  id: string;
  /** The person's display name. */
  from: string;
  text: string;
}

export class InterruptBox {
  private readonly interrupts: Interrupt[] = [];
  private readonly seen = new Map<string, Set<string>>();

  add(interrupt: Interrupt): void {
    if (!this.interrupts.some((i) => i.id === interrupt.id)) this.interrupts.push(interrupt);
  }

  /** What `agentId` has not seen yet, as user messages for its next model call. */
  take(agentId: string): ChatMessage[] {
    const seen = this.seen.get(agentId) ?? new Set<string>();
    this.seen.set(agentId, seen);
    const fresh = this.interrupts.filter((i) => !seen.has(i.id));
    for (const i of fresh) seen.add(i.id);
    return fresh.map((i) => ({
      role: 'user',
      content: `[Interrupt from ${i.from}, a human watching this exchange — not from an agent] ${i.text}\n\nAcknowledge this interrupt first (say what you change because of it), then continue.`,
    }));
  }
}
