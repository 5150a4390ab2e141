/**
 * What happens in a delegation, for whoever shows it (the Matrix agent
 * rooms): handed over, accepted by the other agent, completed — or refused.
 * Listeners run after the fact and never hold up or fail the delegation.
 */
import type { Logger } from '../../logging.ts';

export interface DelegationEvent {
  phase: 'handed' | 'accepted' | 'completed' | 'refused' | 'queued' | 'broadcast';
  delegationId: string;
  exchangeId: string;
  conversationId: string;
  userId: string;
  kind: 'delegate' | 'ask' | 'broadcast';
  from: { id: string; name: string; ownerId: string | null };
  to: { id: string; name: string; ownerId: string | null };
  /** broadcast: every agent addressed (`to` is the first of them). */
  audience?: Array<{ id: string; name: string; ownerId: string | null }>;
  depth: number;
  task: string;
  /** completed: the result; refused / queued: the notice. */
  text?: string;
  at: number;
}

export type DelegationListener = (event: DelegationEvent) => void;

export class DelegationEvents {
  private readonly listeners = new Set<DelegationListener>();

  constructor(private readonly logger: Logger) {}

  on(listener: DelegationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DelegationEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ event: 'agents.delegation_listener_failed', err: (err as Error).message }, 'a delegation listener failed');
      }
    }
  }
}
