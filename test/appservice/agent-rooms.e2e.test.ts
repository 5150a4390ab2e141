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
  // Slow agents stay within the stream idle timeout, so a slow first step is slow, not failed.
  world = await startMatrixWorld({ config: { providers: { streamIdleTimeoutMs: 60_000 } } });
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

    // A person's message in the agent room is never a bot command; with the exchange over there is nothing to interrupt.
    await say(alice, agentRoom, '!help');
    const idle = await alice.waitForEvent(agentRoom, (e) => e.sender === BOT && e.type === 'm.room.message', { timeoutMs: 20_000 });
    expect(idle.content.body).toBe('No exchange is running in this room now: there is nothing to interrupt or stop.');
    expect(world.hs.violations).toEqual([]);
  });

  async function twoAgents(token: string, a: Record<string, unknown>, b: Record<string, unknown>): Promise<[Agent, Agent]> {
    const create = async (body: Record<string, unknown>) => {
      const res = await world.mosaic.api<Agent>(token, 'POST', '/api/agents', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const second = await create(b);
    return [await create(a), second];
  }

  /** Joins the agent room of a pair (invited when it was created) and waits until the other agent took the task. */
  async function watch(human: Awaited<ReturnType<MatrixWorld['linkedHuman']>>, a: Agent, b: Agent): Promise<string> {
    const [lo, hi] = [a.id, b.id].sort();
    const roomId = await until('the agent room', async () => (await human.client.getRoomIdForAlias(`#mosaic-agents-${lo}-${hi}:${SERVER}`).catch(() => null))?.room_id, 20_000);
    await human.waitForInvite((r) => r === roomId, 20_000);
    await human.client.joinRoom(roomId);
    // The ack may come before the join: like Element, read the room's history rather than only what sync brings after joining.
    await until('the delegate_ack in the agent room', async () => (await human.history(roomId, 100)).some((e) => (e.content[AGENT_MESSAGE_KEY] as { type?: string } | undefined)?.type === 'delegate_ack') || null, 20_000);
    return roomId;
  }

  it('a person\'s message in the agent room interrupts: both agents see it marked as from a human and their next step acknowledges it', async () => {
    const bob = await world.linkedHuman('bob');
    const [planner, drafter] = await twoAgents(bob.token, { name: 'planner', systemPrompt: 'PLANNER-A', delegatesTo: ['drafter'] }, { name: 'drafter', systemPrompt: 'DRAFTER-B', tools: ['memory_search'] });
    const interrupted = (body: string) => body.includes('[Interrupt from Bob, a human watching this exchange');
    scriptAgents(world.mosaic, {
      'PLANNER-A': ({ body }) => (hasToolResult(body) ? { text: interrupted(body) ? `Planner heard Bob: ${bracketed(body)}` : 'Planner heard nobody' } : { toolCall: { name: 'delegate', arguments: { agent: 'drafter', task: 'Draft a plan.' } } }),
      // The drafter's first step is slow, so Bob can speak up while it works.
      'DRAFTER-B': ({ body }) => (hasToolResult(body) ? { text: interrupted(body) ? 'Acknowledged, Bob: [[short plan]]' : 'No interrupt: [[long plan]]' } : { delayMs: 8000, toolCall: { name: 'memory_search', arguments: { query: 'plans' } } }),
    });
    const room = await inviteAgent(world, bob, planner.id);
    await say(bob, room, 'Make me a plan please.');
    const agentRoom = await watch(bob, planner, drafter);
    await say(bob, agentRoom, 'Keep it short!');
    await bob.waitForEvent(agentRoom, (e) => e.sender === BOT && String(e.content.body).startsWith('⏸️ Interrupt from Bob passed to the agents'), { timeoutMs: 20_000 });
    const answer = await waitForAnswer(bob, room, ghostOf(planner.id));
    expect(answer.content.body).toContain('Planner heard Bob: short plan');
    const complete = await bob.waitForEvent(agentRoom, (e) => (e.content[AGENT_MESSAGE_KEY] as { type?: string } | undefined)?.type === 'delegate_complete', { timeoutMs: 20_000 });
    expect(complete.content.body).toBe('✅ drafter finished the task from planner: Acknowledged, Bob: [[short plan]]');
    expect(validate(complete.content[AGENT_MESSAGE_KEY])).toBe(true);
    expect(world.hs.violations).toEqual([]);
  });

  it('!stop in the agent room halts the whole exchange; the person\'s conversation shows it stopped', async () => {
    const carol = await world.linkedHuman('carol');
    const [chatty, slowpoke] = await twoAgents(carol.token, { name: 'chatty', systemPrompt: 'CHATTY-A', delegatesTo: ['slowpoke'] }, { name: 'slowpoke', systemPrompt: 'SLOWPOKE-B' });
    scriptAgents(world.mosaic, {
      'CHATTY-A': ({ body }) => (hasToolResult(body) ? { text: 'chatty went on' } : { toolCall: { name: 'delegate', arguments: { agent: 'slowpoke', task: 'Take your time.' } } }),
      'SLOWPOKE-B': () => ({ delayMs: 15_000, text: 'too late' }),
    });
    const room = await inviteAgent(world, carol, chatty.id);
    await say(carol, room, 'Start something slow.');
    const agentRoom = await watch(carol, chatty, slowpoke);
    await say(carol, agentRoom, '!stop');
    await carol.waitForEvent(agentRoom, (e) => e.sender === BOT && e.content.body === '⏹️ Stopped: the answer and every delegation under it are halted.', { timeoutMs: 20_000 });
    const conversationId = (await world.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq }) => eq(r.roomId, room) }))!.conversationId;
    const stopped = await until('the answer stored as stopped', async () => {
      const res = await world.mosaic.api<{ items: Array<{ role: string; content: string; metadata: { stopped?: boolean } | null }> }>(carol.token, 'GET', `/api/conversations/${conversationId}/messages`);
      return res.body.items.find((m) => m.role === 'assistant' && m.metadata?.stopped);
    }, 20_000);
    expect(stopped.content).toContain('Stopped.');
    const rows = await world.mosaic.core.database.db.query.agentDelegations.findMany({ where: (d, { eq }) => eq(d.conversationId, conversationId) });
    expect(rows.map((r) => r.status)).toEqual(['stopped']);
  });

  it('an A→B→A loop is stopped at the limit: a notice in the person\'s room, the refusal in the agent room', async () => {
    const dora = await world.linkedHuman('dora');
    const [ping, pong] = await twoAgents(dora.token, { name: 'ping', systemPrompt: 'PING-A' }, { name: 'pong', systemPrompt: 'PONG-B' });
    expect((await world.mosaic.api(dora.token, 'PATCH', `/api/agents/${ping.id}`, { delegatesTo: ['pong'] })).status).toBe(200);
    expect((await world.mosaic.api(dora.token, 'PATCH', `/api/agents/${pong.id}`, { delegatesTo: ['ping'] })).status).toBe(200);
    scriptAgents(world.mosaic, {
      'PING-A': ({ body }) => (hasToolResult(body) ? { text: 'ping done' } : { toolCall: { name: 'delegate', arguments: { agent: 'pong', task: 'Your turn.' } } }),
      'PONG-B': ({ body }) => (hasToolResult(body) ? { text: 'pong done' } : { toolCall: { name: 'delegate', arguments: { agent: 'ping', task: 'No, yours.' } } }),
    });
    const room = await inviteAgent(world, dora, ping.id);
    await say(dora, room, 'Play ping pong.');
    const notice = await dora.waitForEvent(room, (e) => typeof e.content.body === 'string' && e.content.body.includes('would loop'), { timeoutMs: 20_000 });
    expect(notice.content.body).toContain('Delegation stopped: ping → pong → ping would loop');
    expect((await waitForAnswer(dora, room, ghostOf(ping.id))).content.body).toContain('ping done');
    const [lo, hi] = [ping.id, pong.id].sort();
    const agentRoom = (await dora.client.getRoomIdForAlias(`#mosaic-agents-${lo}-${hi}:${SERVER}`)).room_id;
    await dora.client.joinRoom(agentRoom);
    const refused = await until('the refusal in the agent room', async () => (await dora.history(agentRoom)).find((e) => (e.content[AGENT_MESSAGE_KEY] as { payload?: { status?: string } } | undefined)?.payload?.status === 'refused'), 20_000);
    expect(refused.content.body).toBe('⛔ Delegation stopped: ping → pong → ping would loop (ping is already working on this request). pong carries on without it.');
    expect(refused.sender).toBe(ghostOf(pong.id));
    expect(validate(refused.content[AGENT_MESSAGE_KEY])).toBe(true);
    expect(world.hs.violations).toEqual([]);
  });

  it('a broadcast to more than two agents goes to the group\'s room, no reply expected', async () => {
    const erin = await world.linkedHuman('erin');
    const create = async (body: Record<string, unknown>) => (await world.mosaic.api<Agent>(erin.token, 'POST', '/api/agents', body)).body;
    const x1 = await create({ name: 'listener1', systemPrompt: 'LISTENER-1' });
    const x2 = await create({ name: 'listener2', systemPrompt: 'LISTENER-2' });
    const herald = await create({ name: 'herald', systemPrompt: 'HERALD-A', delegatesTo: ['listener1', 'listener2'] });
    scriptAgents(world.mosaic, {
      'HERALD-A': ({ body }) => (hasToolResult(body) ? { text: 'announced' } : { toolCall: { name: 'broadcast', arguments: { message: 'Standup moves to noon.' } } }),
    });
    const room = await inviteAgent(world, erin, herald.id);
    await say(erin, room, 'Tell everyone standup moves to noon.');
    expect((await waitForAnswer(erin, room, ghostOf(herald.id))).content.body).toContain('announced');
    const ids = [herald.id, x1.id, x2.id].sort();
    const groupRoom = await until('the group room', async () => (await erin.client.getRoomIdForAlias(`#mosaic-agents-${ids.join('-')}:${SERVER}`).catch(() => null))?.room_id, 20_000);
    await erin.waitForInvite((r) => r === groupRoom, 20_000);
    await erin.client.joinRoom(groupRoom);
    const announced = await until('the broadcast', async () => (await erin.history(groupRoom)).find((e) => e.content[AGENT_MESSAGE_KEY] !== undefined), 20_000);
    const m = announced.content[AGENT_MESSAGE_KEY] as { type: string; payload: Record<string, unknown> };
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.type).toBe('broadcast');
    expect(m.payload).toMatchObject({ from_agent: herald.id, to_agents: [x1.id, x2.id], task: 'Standup moves to noon.' });
    expect(announced.sender).toBe(ghostOf(herald.id));
    expect(announced.content.body).toBe('📣 herald to listener1, listener2 (no reply expected): Standup moves to noon.');
    const members = Object.keys((await erin.client.getJoinedRoomMembers(groupRoom)).joined);
    expect(members).toEqual(expect.arrayContaining([ghostOf(herald.id), BOT, erin.userId]));
    // Nobody answers a broadcast: the listeners' models were never called.
    expect(Object.values(world.mosaic.simulators).flatMap((s) => s.chatRequests()).some((r) => JSON.stringify(r.body).includes('LISTENER-'))).toBe(false);
    expect(world.hs.violations).toEqual([]);
  });
});
