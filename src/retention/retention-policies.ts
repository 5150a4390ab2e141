/**
 * Retention policies as admins and people see and change them: the
 * configured defaults per room kind, admin overrides per kind and per
 * conversation, and a person's own shorter limit on their conversations.
 */
import type { MosaicConfig } from '../config/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import { effectivePolicy, type ConversationRetentionSettings, type EffectivePolicy, type KindPolicy, type RetentionDays } from './policy.ts';
import { ROOM_KINDS, roomKindOf, type RoomKind } from './room-kind.ts';
import type { PurgeCandidate, RetentionStore } from './retention-store.ts';

/** `'default'` removes an override, so the layer below applies again. */
export type DaysSetting = RetentionDays | 'default';

export interface KindPolicyView extends KindPolicy {
  kind: RoomKind;
  /** The configured default (retention.defaults). */
  configured: RetentionDays;
}

export interface ConversationPolicyView extends EffectivePolicy {
  conversationId: string;
  /** The admin override of this conversation (absent: none). */
  adminDays?: RetentionDays;
  /** The owner's own limit (null: none). */
  ownerDays: RetentionDays;
}

export interface RetentionView {
  kinds: KindPolicyView[];
  conversations: Array<{ conversationId: string; days: RetentionDays; updatedAt: string }>;
}

export class RetentionPolicies {
  constructor(
    private readonly store: RetentionStore,
    private readonly defaults: MosaicConfig['retention']['defaults'],
  ) {}

  async kindPolicies(): Promise<Record<RoomKind, KindPolicy>> {
    const overrides = await this.store.kindOverrides();
    return Object.fromEntries(
      ROOM_KINDS.map((kind) => [kind, overrides.has(kind) ? { days: overrides.get(kind)!, source: 'admin-kind' as const } : { days: this.defaults[kind], source: 'config' as const }]),
    ) as Record<RoomKind, KindPolicy>;
  }

  async view(): Promise<RetentionView> {
    const kinds = await this.kindPolicies();
    const conversations = await this.store.conversationOverrides();
    return {
      kinds: ROOM_KINDS.map((kind) => ({ kind, ...kinds[kind], configured: this.defaults[kind] })),
      conversations: conversations.map((c) => ({ conversationId: c.conversationId, days: c.days, updatedAt: c.updatedAt.toISOString() })),
    };
  }

  async setKind(kind: RoomKind, days: DaysSetting): Promise<void> {
    if (days === 'default') await this.store.clearKindOverride(kind);
    else await this.store.setKindOverride(kind, days);
  }

  async setConversation(conversationId: string, days: DaysSetting): Promise<ConversationPolicyView> {
    await this.store.setConversationOverride(conversationId, days === 'default' ? undefined : days);
    return this.forConversation(conversationId);
  }

  /** Admin: the policy of any conversation (404 when there is none). */
  async forConversation(conversationId: string): Promise<ConversationPolicyView> {
    const found = await this.store.conversationWithSettings(conversationId);
    if (!found) throw notFound('conversation');
    return this.describe(found, await this.kindPolicies());
  }

  /** The owner's view of one of their conversations (404 when it is not theirs). */
  async forOwner(actor: Actor, conversationId: string): Promise<ConversationPolicyView> {
    return this.describe(await this.store.ownerSettings(actor, conversationId), await this.kindPolicies());
  }

  /** The owner's own limit (null removes it). It can only shorten: a longer one than the policy has no effect. */
  async setOwnerDays(actor: Actor, conversationId: string, days: RetentionDays): Promise<ConversationPolicyView> {
    await this.store.setOwnerDays(actor, conversationId, days);
    return this.forOwner(actor, conversationId);
  }

  /** The policy of a conversation the purge looks at. */
  policyOf(candidate: PurgeCandidate, kinds: Record<RoomKind, KindPolicy>): EffectivePolicy {
    const kind = roomKindOf(candidate.conversation);
    return effectivePolicy(kind, kinds[kind], candidate.settings);
  }

  private describe(candidate: PurgeCandidate, kinds: Record<RoomKind, KindPolicy>): ConversationPolicyView {
    const settings: ConversationRetentionSettings | null = candidate.settings;
    return {
      conversationId: candidate.conversation.id,
      ...this.policyOf(candidate, kinds),
      ...(settings?.adminOverride ? { adminDays: settings.adminDays } : {}),
      ownerDays: settings?.ownerDays ?? null,
    };
  }
}
