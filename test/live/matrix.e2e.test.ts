/**
 * One conversation open in Matrix and on sockets at once, on two gateway
 * replicas with the Matrix channel and the spec-checked test homeserver: a
 * message written in Element reaches the sockets (and its answer streams to
 * them), a message sent on a socket reaches the room, each stored once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ASSISTANT_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixReplica, type MatrixWorld } from '../appservice/support.ts';
import { streamedText, TestSocket, waitFor, type MessageFrame } from './support.ts';

let world: MatrixWorld;
let replica: MatrixReplica;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await startMatrixWorld();
  replica = await world.replica();
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.terminate();
  await world?.stop();
});

it('a Matrix message appears on the sockets of both replicas with its answer; a socket send appears in the room', async () => {
  const una = await world.linkedHuman('una');
  const roomId = await inviteAgent(world, una, ASSISTANT_ID);
  const link = await world.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq }) => eq(r.roomId, roomId) });
  const conv = link!.conversationId;
  const onA = await TestSocket.open(world.mosaic.url, { token: una.token });
  const onB = await TestSocket.open(replica.mosaic.url, { token: una.token });
  sockets.push(onA, onB);
  for (const s of [onA, onB]) expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'ack' });

  const eventId = await say(una, roomId, 'Hello from Element');
  const answer = await waitForAnswer(una, roomId, ghostOf(ASSISTANT_ID), eventId);
  for (const s of [onA, onB]) {
    await waitFor('the answer on the socket', () => s.of('answer:final').length === 1);
    const [question, reply] = s.messages(conv);
    expect(question!.message).toMatchObject({ content: 'Hello from Element', metadata: { role: 'user', channel: 'matrix', channelMessageId: eventId } });
    expect(reply!.message).toMatchObject({ replyToId: question!.message.id, content: 'Echo: Hello from Element', metadata: { role: 'assistant' } });
    expect(streamedText(s.frames, reply!.message.id).text).toBe(reply!.message.content);
  }
  const body = (answer.content['m.new_content'] as { body?: string } | undefined)?.body ?? String(answer.content.body);
  expect(body).toContain('Echo: Hello from Element');

  const ack = await onB.request({ type: 'send', conversationId: conv, content: 'Hello from the terminal', clientMessageId: 'tui:1' });
  const sentId = (ack.result as { messageId: string }).messageId;
  const mirrored = await una.waitForEvent(roomId, (e) => e.type === 'm.room.message' && String(e.content.body).includes('Hello from the terminal'), { after: answer.event_id, timeoutMs: 20_000 });
  expect(mirrored.sender).toBe(ghostOf(ASSISTANT_ID));
  expect(mirrored.content.msgtype).toBe('m.notice');
  await waitForAnswer(una, roomId, ghostOf(ASSISTANT_ID), mirrored.event_id);
  for (const s of [onA, onB]) await waitFor('the second answer', () => s.of('answer:final').length === 2);
  const seen = onA.messages(conv).map((m: MessageFrame) => m.message.id);
  expect(seen.filter((id) => id === sentId)).toHaveLength(1);
  // The room shows the socket's message once, sent by one replica.
  const history = await una.history(roomId, 100);
  expect(history.filter((e) => e.content.msgtype === 'm.notice' && String(e.content.body ?? '').includes('Hello from the terminal'))).toHaveLength(1);
  await until('both sockets in step', () => onA.messages(conv).length === onB.messages(conv).length);
  expect(onB.messages(conv).map((m) => m.seq)).toEqual(onA.messages(conv).map((m) => m.seq));
});
