/**
 * The Matrix window onto delegation, end to end on the spec-checked test
 * homeserver: a person asks their agent in a Matrix room, the agent
 * delegates to another, and the pair's agent room shows the exchange.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AGENT_MESSAGE_KEY } from '../../appservice/agent-rooms/agent-message.ts';
import { hasToolResult, bracketed, scriptAgents } from '../agents/delegation-support.ts';
import { BOT, ghostOf, inviteAgent, SERVER, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));
const validate = ajv.compile(JSON.parse(readFileSync('appservice/agent-rooms/agent-message.schema.json', 'utf8')) as object);

let world: MatrixWorld;

beforeAll(async () => {
  world = await startMatrixWorld();
}, 120_000);
afterAll(async () => world?.stop());

interface Agent {
  id: string;
}

describe('agent rooms', () => {
  it('a delegation shows in the pair\'s agent room: alias, power levels, both ghosts and the observer; every payload validates; the person gets the final answer', async () => {
    const alice = await world.linkedHuman('alice');
    const create = async (body: Record<string, unknown>) => {
      const res = await world.mosaic.api<Agent>(alice.token, 'POST', '/api/agents', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const b = await create({ name: 'summarizer', displayName: 'Summarizer', systemPrompt: 'You are SUMMARIZER-B.' });
    const a = await create({ name: 'lead', displayName: 'Lead', systemPrompt: 'You are LEAD-A.', delegatesTo: ['summarizer'] });
    scriptAgents(world.mosaic, {
      'LEAD-A': ({ body }) => (hasToolResult(body) ? { text: `Summary via my colleague: ${bracketed(body)}` } : { toolCall: { name: 'delegate', arguments: { agent: 'summarizer', task: 'Summarise: dogs descend from wolves and are loyal.' } } }),
      'SUMMARIZER-B': () => ({ text: 'Done: [[loyal wolf descendants]]' }),
    });

    const room = await inviteAgent(world, alice, a.id);
    await say(alice, room, 'Summarise the dog text for me please.');
    const answer = await waitForAnswer(alice, room, ghostOf(a.id));
    expect(answer.content.body).toContain('Summary via my colleague: loyal wolf descendants');

    // The agent room: found by its alias (ids sorted), Alice invited to watch.
    const [lo, hi] = [a.id, b.id].sort();
    const alias = `#mosaic-agents-${lo}-${hi}:${SERVER}`;
    const agentRoom = await alice.waitForInvite(undefined, 20_000);
    expect((await alice.client.getRoomIdForAlias(alias)).room_id).toBe(agentRoom);
    await alice.client.joinRoom(agentRoom);

    const state = async (type: string) => (await alice.client.getStateEvent(agentRoom, type, '')) as Record<string, unknown>;
    const pl = (await state('m.room.power_levels')) as { users: Record<string, number>; users_default: number; events_default: number };
    expect(pl.users).toEqual({ [BOT]: 100, [ghostOf(a.id)]: 0, [ghostOf(b.id)]: 0, [alice.userId]: 50 });
    expect(pl.users_default).toBe(0);
    expect(await state('m.room.canonical_alias')).toMatchObject({ alias });
    await expect(alice.client.getStateEvent(agentRoom, 'm.room.encryption', '')).rejects.toThrow();
    const members = await alice.client.getJoinedRoomMembers(agentRoom);
    expect(Object.keys(members.joined).sort()).toEqual([BOT, ghostOf(a.id), ghostOf(b.id), alice.userId].sort());

    // The exchange, in order: delegate (A), delegate_ack and delegate_complete (B), both answering the delegate event.
    const structured = await until('the whole exchange in the agent room', async () => {
      const events = (await alice.history(agentRoom)).filter((e) => e.type === 'm.room.message' && e.content[AGENT_MESSAGE_KEY] !== undefined);
      return events.length >= 3 ? events : null;
    }, 20_000);
    for (const e of structured) expect(validate(e.content[AGENT_MESSAGE_KEY]), JSON.stringify(validate.errors)).toBe(true);
    const messages = structured.map((e) => ({ sender: e.sender, event_id: e.event_id, body: e.content.body as string, m: e.content[AGENT_MESSAGE_KEY] as { type: string; sender_agent: string; conversation_id: string; timestamp_ms: number; payload: Record<string, unknown> } }));
    expect(messages.map((x) => [x.m.type, x.sender])).toEqual([
      ['delegate', ghostOf(a.id)],
      ['delegate_ack', ghostOf(b.id)],
      ['delegate_complete', ghostOf(b.id)],
    ]);
    const [delegate, ack, complete] = messages;
    expect(delegate!.body).toBe('➡️ lead hands summarizer a task: Summarise: dogs descend from wolves and are loyal.');
    expect(delegate!.m.payload).toMatchObject({ from_agent: a.id, to_agent: b.id, depth: 1, task: 'Summarise: dogs descend from wolves and are loyal.' });
    expect(ack!.m.payload.reply_to_event_id).toBe(delegate!.event_id);
    expect(complete!.m.payload).toMatchObject({ reply_to_event_id: delegate!.event_id, text: 'Done: [[loyal wolf descendants]]', status: 'completed' });
    expect(complete!.body).toBe('✅ summarizer finished the task from lead: Done: [[loyal wolf descendants]]');
    expect(Number.isInteger(delegate!.m.timestamp_ms)).toBe(true);
    const conversationId = (await world.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq }) => eq(r.roomId, room) }))!.conversationId;
    expect(new Set(messages.map((x) => x.m.conversation_id))).toEqual(new Set([conversationId]));

    // A person's message in the agent room is not a bot command: nothing answers it.
    const before = (await alice.history(agentRoom)).length;
    await say(alice, agentRoom, '!help');
    const after = await alice.history(agentRoom);
    expect(after.filter((e) => e.sender === BOT && e.type === 'm.room.message')).toHaveLength(0);
    expect(after.length).toBe(before + 1);
    expect(world.hs.violations).toEqual([]);
  });
});
