/**
 * The messages of an agent room: a readable `body` for people and the
 * structured `mosaic.agent_message` (agent-message.schema.json) for
 * programs. Every value is a string, a boolean or an integer, so the
 * content is canonical JSON as homeservers require.
 */
import { createHash } from 'node:crypto';
import type { DelegationEvent } from '../../src/agents/delegation/delegation-events.ts';

export const AGENT_MESSAGE_KEY = 'mosaic.agent_message';
export const AGENT_MESSAGE_SCHEMA_VERSION = 1;
/** The state event that marks a room as an agent room (its content names the pair). */
export const AGENT_ROOM_STATE = 'mosaic.agent_room';
/** Longest task or result text carried, well under the 65,536-byte event limit with the body beside it. */
const MAX_TEXT = 16_000;

export type AgentMessageType = 'request' | 'response' | 'broadcast' | 'delegate' | 'delegate_ack' | 'delegate_complete';

export interface AgentMessage {
  schema_version: 1;
  sender_agent: string;
  conversation_id: string;
  type: AgentMessageType;
  payload: {
    delegation_id: string;
    exchange_id: string;
    from_agent: string;
    /** Every message but a broadcast: the one agent addressed. */
    to_agent?: string;
    /** A broadcast: every agent addressed. */
    to_agents?: string[];
    depth: number;
    reply_to_event_id?: string;
    task?: string;
    text?: string;
    status?: 'completed' | 'refused' | 'queued';
    truncated?: boolean;
  };
  timestamp_ms: number;
}

/**
 * The agent room alias's localpart: `mosaic-agents-<a>-<b>` for a pair, ids
 * sorted so both directions share it; a group (a broadcast to several) lists
 * every id the same way, or, past 5 agents, a hash of them (`…-g<24 hex>`),
 * so the alias stays well under 255 bytes.
 */
export function agentRoomLocalpart(agentIds: string[]): string {
  const ids = [...new Set(agentIds)].sort();
  if (ids.length > 5) return `mosaic-agents-g${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 24)}`;
  return `mosaic-agents-${ids.join('-')}`;
}

const clip = (text: string): { text: string; truncated: boolean } => (text.length > MAX_TEXT ? { text: `${text.slice(0, MAX_TEXT - 1)}…`, truncated: true } : { text, truncated: false });

/** Which message a delegation step is, and who sends it. */
export function messageTypeOf(event: DelegationEvent): { type: AgentMessageType; sender: 'from' | 'to' } | null {
  const ask = event.kind === 'ask';
  switch (event.phase) {
    case 'handed':
      return { type: ask ? 'request' : 'delegate', sender: 'from' };
    case 'accepted':
      return ask ? null : { type: 'delegate_ack', sender: 'to' };
    case 'completed':
      return { type: ask ? 'response' : 'delegate_complete', sender: 'to' };
    case 'refused':
    case 'queued':
      // Mosaic refused or queued it; the room shows it as the hand-over's end, sent by the agent that asked.
      return { type: ask ? 'response' : 'delegate_complete', sender: 'from' };
    case 'broadcast':
      return { type: 'broadcast', sender: 'from' };
  }
}

/** The m.room.message content for one step; null when the step has no message of its own. */
export function agentMessageContent(event: DelegationEvent, replyTo: string | undefined): { content: Record<string, unknown>; type: AgentMessageType; senderAgentId: string } | null {
  const kind = messageTypeOf(event);
  if (!kind) return null;
  const senderAgentId = kind.sender === 'from' ? event.from.id : event.to.id;
  const task = event.phase === 'handed' || event.phase === 'broadcast' ? clip(event.task) : null;
  const text = event.text !== undefined && event.phase !== 'handed' ? clip(event.text) : null;
  const status = event.phase === 'completed' ? 'completed' : event.phase === 'refused' ? 'refused' : event.phase === 'queued' ? 'queued' : undefined;
  const message: AgentMessage = {
    schema_version: AGENT_MESSAGE_SCHEMA_VERSION,
    sender_agent: senderAgentId,
    conversation_id: event.conversationId,
    type: kind.type,
    payload: {
      delegation_id: event.delegationId,
      exchange_id: event.exchangeId,
      from_agent: event.from.id,
      ...(event.audience ? { to_agents: event.audience.map((a) => a.id) } : { to_agent: event.to.id }),
      depth: event.depth,
      ...(replyTo ? { reply_to_event_id: replyTo } : {}),
      ...(task ? { task: task.text } : {}),
      ...(text ? { text: text.text } : {}),
      ...(status ? { status } : {}),
      ...(task?.truncated || text?.truncated ? { truncated: true } : {}),
    },
    timestamp_ms: Math.trunc(event.at),
  };
  const body = readableBody(event, task?.text ?? '', text?.text ?? '');
  return {
    type: kind.type,
    senderAgentId,
    content: {
      msgtype: 'm.text',
      body,
      [AGENT_MESSAGE_KEY]: message,
      ...(replyTo ? { 'm.relates_to': { 'm.in_reply_to': { event_id: replyTo } } } : {}),
    },
  };
}

function readableBody(event: DelegationEvent, task: string, text: string): string {
  const { from, to } = event;
  switch (event.phase) {
    case 'handed':
      return event.kind === 'ask' ? `❓ ${from.name} asks ${to.name}: ${task}` : `➡️ ${from.name} hands ${to.name} a task: ${task}`;
    case 'accepted':
      return `👍 ${to.name} takes the task from ${from.name} (${text}).`;
    case 'completed':
      return event.kind === 'ask' ? `💬 ${to.name} answers ${from.name}: ${text}` : `✅ ${to.name} finished the task from ${from.name}: ${text}`;
    case 'refused':
      return `⛔ ${text}`;
    case 'queued':
      return `⏳ ${to.name} cannot run now; the task from ${from.name} is queued (${text}).`;
    case 'broadcast':
      return `📣 ${from.name} to ${(event.audience ?? [to]).map((a) => a.name).join(', ')} (no reply expected): ${task}`;
  }
}
