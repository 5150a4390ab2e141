/**
 * Which stored events may be processed side by side. Events of one room
 * keep their order (a member join before the message after it). A
 * person's command (`!link` in the bot's DM, `!new` …) changes what their
 * later events mean anywhere, so those later events, in any room, wait for
 * it: the command ties the person's rooms together from there on. Without a
 * command, one person writing in several rooms ties nothing — their rooms
 * are independent. Mosaic's own users (the bot, the ghosts) write in every
 * room and never tie rooms.
 */
import type { ClaimableEvent } from './event-journal.ts';

/** Splits events (oldest first) into lanes: each lane in the original order, lanes ordered by their first event. */
export function lanesOf(events: readonly ClaimableEvent[], isOurs: (userId: string) => boolean = () => false): ClaimableEvent[][] {
  // Union-find over the keys an event touches: its room, and its sender from that sender's first command on.
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
  // A person's key joins the union at their first command; every later event of theirs follows it.
  const commanded = new Set<string>();
  const keysOf = (e: ClaimableEvent): string[] => {
    if (isOurs(e.sender)) return [`r:${e.roomId}`];
    if (e.command) commanded.add(e.sender);
    return commanded.has(e.sender) ? [`r:${e.roomId}`, `s:${e.sender}`] : [`r:${e.roomId}`];
  };
  const keysByEvent = new Map<ClaimableEvent, string[]>();
  for (const e of events) {
    const keys = keysOf(e);
    keysByEvent.set(e, keys);
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    const first = find(keys[0]!);
    for (const k of keys.slice(1)) {
      const other = find(k);
      if (other !== first) parent.set(other, first);
    }
  }
  const lanes = new Map<string, ClaimableEvent[]>();
  for (const e of events) {
    const root = find(keysByEvent.get(e)![0]!);
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
