/**
 * Which kind of room a conversation is, for retention: each kind has its
 * own policy (config `retention.defaults`, admin overrides per kind).
 *
 * This is the one place that decides it for conversations: one shared
 * with a team (teams, #18: `conversations.team_id`) is `team`, every other
 * one `personal`. The `agent` kind is the agent rooms (#19), which are not
 * conversations: only a channel keeps them, so the purge reaches them
 * through the channel erasers (CHANNEL_ONLY_KINDS in channel-erasers.ts).
 */
import type { conversations } from '../db/schema.ts';
import type { RoomKind } from './room-kinds.ts';

export { ROOM_KINDS, isRoomKind, type RoomKind } from './room-kinds.ts';

/** What a conversation is, as stored (every column of `conversations`). */
export type RoomKindFacts = typeof conversations.$inferSelect;

export function roomKindOf(conversation: RoomKindFacts): RoomKind {
  return conversation.teamId ? 'team' : 'personal';
}
