/**
 * The retention that applies to one conversation, from its layers: the
 * configured default of its room kind, an admin override of that kind, an
 * admin override of the conversation itself, and its owner's own limit,
 * which can only make it shorter. `null` days means kept forever.
 */
import type { RoomKind } from './room-kind.ts';

export type RetentionDays = number | null;

export type PolicySource = 'config' | 'admin-kind' | 'admin-conversation' | 'owner';

/** The per-conversation settings (conversation_retention), when the conversation has any. */
export interface ConversationRetentionSettings {
  adminOverride: boolean;
  adminDays: RetentionDays;
  ownerDays: RetentionDays;
}

export interface KindPolicy {
  days: RetentionDays;
  source: 'config' | 'admin-kind';
}

export interface EffectivePolicy {
  kind: RoomKind;
  days: RetentionDays;
  source: PolicySource;
}

/** Shorter wins; null (forever) loses to any number. */
export function shorter(a: RetentionDays, b: RetentionDays): RetentionDays {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

export function effectivePolicy(kind: RoomKind, kindPolicy: KindPolicy, settings: ConversationRetentionSettings | null): EffectivePolicy {
  let days = kindPolicy.days;
  let source: PolicySource = kindPolicy.source;
  if (settings?.adminOverride) {
    days = settings.adminDays;
    source = 'admin-conversation';
  }
  if (settings?.ownerDays != null && shorter(days, settings.ownerDays) !== days) {
    days = settings.ownerDays;
    source = 'owner';
  }
  return { kind, days, source };
}

const DAY_MS = 86_400_000;

/** Messages created before this are past the policy; null: nothing is. */
export function cutoffOf(days: RetentionDays, now: Date): Date | null {
  return days === null ? null : new Date(now.getTime() - days * DAY_MS);
}
