/**
 * Which pushed events may be processed side by side: order is kept within a
 * room, and a person's command orders their later events in every room;
 * otherwise rooms are independent; Mosaic's own users tie nothing together;
 * at most `limit` lanes run at once.
 */
import { describe, expect, it } from 'vitest';
import { lanesOf, runLanes } from '../../appservice/transport/event-lanes.ts';

const ev = (eventId: string, roomId: string, sender: string, command = false) => ({ eventId, roomId, sender, command });
const ids = (lanes: Array<Array<{ eventId: string }>>) => lanes.map((l) => l.map((e) => e.eventId));
const ours = (u: string) => u.startsWith('@mosaic');

describe('lanesOf', () => {
  it('keeps each room in order and separates rooms', () => {
    const lanes = lanesOf([ev('1', '!a', '@x'), ev('2', '!b', '@y'), ev('3', '!a', '@z'), ev('4', '!b', '@w')]);
    expect(ids(lanes)).toEqual([['1', '3'], ['2', '4']]);
  });

  it("a person's command ties their later events in other rooms: a !link in the DM stays before their next message elsewhere", () => {
    const lanes = lanesOf([ev('link', '!dm', '@ann', true), ev('other', '!c', '@bob'), ev('msg', '!room', '@ann')]);
    expect(ids(lanes)).toEqual([['link', 'msg'], ['other']]);
  });

  it('without a command, one person writing in two rooms ties nothing (their rooms run side by side)', () => {
    const lanes = lanesOf([ev('1', '!a', '@ann'), ev('2', '!b', '@ann'), ev('3', '!a', '@ann')]);
    expect(ids(lanes)).toEqual([['1', '3'], ['2']]);
  });

  it('ties transitively (room → person → room) from the commands on', () => {
    const lanes = lanesOf([ev('1', '!a', '@x', true), ev('2', '!b', '@y', true), ev('3', '!b', '@x'), ev('4', '!c', '@y')]);
    expect(ids(lanes)).toEqual([['1', '2', '3', '4']]);
  });

  it("Mosaic's own users (an agent answering in many rooms) tie nothing together", () => {
    const lanes = lanesOf([ev('1', '!a', '@mosaic_agent_1', true), ev('2', '!b', '@mosaic_agent_1'), ev('3', '!a', '@x')], ours);
    expect(ids(lanes)).toEqual([['1', '3'], ['2']]);
    // Without knowing who is ours, the same events are one lane.
    expect(ids(lanesOf([ev('1', '!a', '@mosaic_agent_1', true), ev('2', '!b', '@mosaic_agent_1')]))).toEqual([['1', '2']]);
  });
});

describe('runLanes', () => {
  it('runs a lane in order, lanes at once up to the limit', async () => {
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const gates = new Map<string, () => void>();
    const work = (item: string) =>
      new Promise<void>((resolve) => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${item}`);
        gates.set(item, () => {
          running--;
          log.push(`end ${item}`);
          resolve();
        });
      });
    const done = runLanes([['a1', 'a2'], ['b1'], ['c1']], 2, work);
    const open = async (item: string) => {
      while (!gates.has(item)) await new Promise((r) => setImmediate(r));
      gates.get(item)!();
    };
    await open('b1');
    await open('a1');
    await open('c1');
    await open('a2');
    await done;
    expect(most).toBe(2);
    // a2 only after a1; c1 only once a lane was free.
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    expect(log.indexOf('start c1')).toBeGreaterThan(log.indexOf('end b1'));
  });
});
