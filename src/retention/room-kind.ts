/**
 * Which kind of room a conversation is, for retention: each kind has its
 * own policy (config `retention.defaults`, admin overrides per kind).
 *
 * This is the one place that decides it: a conversation shared with a
 * team (teams, #18: `conversations.team_id`) is `team`, every other one
 * `personal`. Agent rooms (#19) make agent-to-agent conversations `agent`
 * by changing `roomKindOf` alone: it receives the whole conversation row,
 * so a column that part adds is already here.
 */
import type { conversations } from '../db/schema.ts';
import type { RoomKind } from './room-kinds.ts';

export { ROOM_KINDS, isRoomKind, type RoomKind } from './room-kinds.ts';

/** What a conversation is, as stored (every column of `conversations`). */
export type RoomKindFacts = typeof conversations.$inferSelect;

export function roomKindOf(conversation: RoomKindFacts): RoomKind {
  return conversation.teamId ? 'team' : 'personal';
}
