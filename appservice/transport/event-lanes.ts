/**
 * Which stored events may be processed side by side. Events of one room
 * keep their order (a member join before the message after it), and so do
 * one person's events across rooms (a `!link` in the bot's DM before their
 * next message in another room). Everything else is independent: a slow
 * room never holds up the others. Mosaic's own users (the bot and the
 * ghosts) write in every room, so their events tie nothing together —
 * otherwise one agent answering in many rooms would make them one lane.
 */
import type { ClaimableEvent } from './event-journal.ts';

/** Splits events (oldest first) into lanes: each lane in the original order, lanes ordered by their first event. */
export function lanesOf(events: readonly ClaimableEvent[], isOurs: (userId: string) => boolean = () => false): ClaimableEvent[][] {
  // Union-find over the keys an event touches: its room, and its sender unless that is Mosaic itself.
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== root) root = parent.get(root)!;
    // Path compression keeps the next finds short.
    for (let k = key; k !== root; ) {
      const next = parent.get(k)!;
      parent.set(k, root);
      k = next;
    }
    return root;
  };
  const keysOf = (e: ClaimableEvent) => (isOurs(e.sender) ? [`r:${e.roomId}`] : [`r:${e.roomId}`, `s:${e.sender}`]);
  for (const e of events) {
    const keys = keysOf(e);
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    const first = find(keys[0]!);
    for (const k of keys.slice(1)) {
      const other = find(k);
      if (other !== first) parent.set(other, first);
    }
  }
  const lanes = new Map<string, ClaimableEvent[]>();
  for (const e of events) {
    const root = find(keysOf(e)[0]!);
    const lane = lanes.get(root);
    if (lane) lane.push(e);
    else lanes.set(root, [e]);
  }
  return [...lanes.values()];
}

/** Runs `work` over the lanes, at most `limit` lanes at once; each lane's items one after another. */
export async function runLanes<T>(lanes: readonly T[][], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < lanes.length) {
      const lane = lanes[next++]!;
      for (const item of lane) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, lanes.length)) }, worker));
}
