/**
 * The room kinds retention knows, as plain data: the CLI reads them without
 * loading the database schema (and so the ORM) in its process.
 */
export const ROOM_KINDS = ['personal', 'team', 'agent', 'system'] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];

export function isRoomKind(value: string): value is RoomKind {
  return (ROOM_KINDS as readonly string[]).includes(value);
}
