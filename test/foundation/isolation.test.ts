/**
 * Isolation of user-owned data. Every method of every storage class in
 * src/**\/*-store.ts and appservice/**\/*-store.ts must appear in `coverage` below: either with a case
 * proving another user cannot reach the acting user's rows, or marked as not
 * touching user-owned data (with the reason). A new storage function without
 * an entry fails this test, so it cannot be forgotten.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { TokenStore } from '../../src/identity/token-store.ts';
import { CredentialStore } from '../../src/identity/credential-store.ts';
import { SecretBox } from '../../src/identity/secret-box.ts';
import { AgentStore } from '../../src/agents/agent-store.ts';
import { DelegationStore } from '../../src/agents/delegation/delegation-store.ts';
import { TurnStore } from '../../src/conversations/turn-store.ts';
import { ConversationStore } from '../../src/conversations/conversation-store.ts';
import { SessionStore } from '../../src/conversations/session-store.ts';
import { MemoryStore } from '../../src/agents/memory-store.ts';
import { RuleStore } from '../../src/routing/rule-store.ts';
import { RoomStore } from '../../appservice/rooms/room-store.ts';
import { RetentionStore } from '../../src/retention/retention-store.ts';
import { ChannelIdentityStore } from '../../src/identity/channel-identity-store.ts';
import { LinkTokenStore } from '../../src/identity/link-token-store.ts';
import { WebSessionStore } from '../../src/identity/web-session-store.ts';
import { LinkStateStore } from '../../src/identity/link-state-store.ts';
import { connectValkey, type Redis } from '../../src/valkey/client.ts';
import { conversationMatrixRooms } from '../../src/db/schema.ts';
import { TeamStore } from '../../src/teams/team-store.ts';
import { createPgDatabase, redisPrefix } from '../support/databases.ts';
import { TEST_REDIS_URL } from '../support/global-setup.ts';

interface Ctx {
  database: Database;
  valkey: Redis;
  prefix: string;
  alice: Actor;
  bob: Actor;
}
type Coverage = Record<string, { isolation: (ctx: Ctx) => Promise<void> } | { notUserOwned: string }>;

const coverage: Coverage = {
  'UserStore.create': { notUserOwned: 'accounts themselves; called by admin code and the CLI only' },
  'UserStore.findByUsername': { notUserOwned: 'account lookup for login/admin; returns no user-owned content' },
  'UserStore.findById': { notUserOwned: 'account lookup; returns no user-owned content' },
  'UserStore.requireByUsername': { notUserOwned: 'account lookup for admin/CLI' },
  'UserStore.list': { notUserOwned: 'admin listing of accounts (admin route only)' },
  'UserStore.setLocalOnly': { notUserOwned: 'account flag set by admin code' },
  'UserStore.setMonthlyBudget': { notUserOwned: "account setting: PATCH /api/me passes only the token's own user id; /api/admin/users/:username is admin-only" },
  'UserStore.setDisabled': { notUserOwned: 'account flag set by admin code only (`mosaic user disable|enable`, /api/admin/users/:username/disable|enable)' },
  'UserStore.enabledAdminCount': { notUserOwned: 'a count of admins, for the last-admin guard; returns no user content' },
  'UserStore.dataInventory': { notUserOwned: 'admin-only counts of what an account owns, for `mosaic user delete` and GET /api/admin/users/:username/deletion; no content' },
  'UserStore.remove': { isolation: userDeletionIsolation },
  'UserStore.activeIds': { notUserOwned: 'which of these accounts exist and are enabled (live connections and web sessions re-check); ids only' },
  'WebSessionStore.create': { isolation: webSessionIsolation },
  'WebSessionStore.resolve': { isolation: webSessionIsolation },
  'WebSessionStore.remove': { isolation: webSessionIsolation },
  'WebSessionStore.stillValid': { isolation: webSessionIsolation },
  'WebSessionStore.keyOf': { notUserOwned: 'private: the Valkey key of a session hash; no data access' },
  'WebSessionStore.hashOf': { notUserOwned: 'private: the hash of a well-formed session id; no data access' },
  'AgentLogStore.append': { notUserOwned: 'system/job lifecycle log written by the server; read only through admin routes' },
  'AgentLogStore.applyTiers': { notUserOwned: 'housekeeping over all logs by age (a scheduled job)' },
  'AgentLogStore.listForJob': { notUserOwned: 'admin jobs API only' },
  'CredentialStore.rotateAll': { notUserOwned: 'admin key rotation (`mosaic secrets rotate`); returns no secrets' },
  'CredentialStore.requireBox': { notUserOwned: 'private helper: no data access' },
  'CredentialStore.row': { notUserOwned: 'private helper scoped by the actor; exercised through get/update/remove' },
  'CredentialStore.create': { isolation: credentialIsolation },
  'CredentialStore.list': { isolation: credentialIsolation },
  'CredentialStore.get': { isolation: credentialIsolation },
  'CredentialStore.update': { isolation: credentialIsolation },
  'CredentialStore.remove': { isolation: credentialIsolation },
  'CredentialStore.resolveForUse': { isolation: credentialIsolation },
  'CredentialStore.has': { isolation: credentialIsolation },
  'CredentialStore.readForUse': { notUserOwned: 'private helper keyed by the acting user resolveForUse passes; exercised through resolveForUse' },
  'CredentialStore.onChange': { notUserOwned: 'in-process notification that some credential changed (the replica tells the others); carries no data' },
  'CredentialStore.invalidate': { notUserOwned: 'drops the in-memory credential cache; carries no data' },
  'CredentialStore.changed': { notUserOwned: 'private: drops the cache and fires the onChange listeners; carries no data' },
  'ConversationStore.unansweredSince': { notUserOwned: 'housekeeping at start: ids only, to re-queue lost answer jobs' },
  'ConversationStore.activeSince': { notUserOwned: 'housekeeping: ids and owners only; every later read acts as the owner' },
  'AgentStore.create': { isolation: agentIsolation },
  'AgentStore.list': { isolation: agentIsolation },
  'AgentStore.get': { isolation: agentIsolation },
  'AgentStore.findByName': { isolation: agentIsolation },
  'AgentStore.update': { isolation: agentIsolation },
  'AgentStore.remove': { isolation: agentIsolation },
  'AgentStore.requireFreeName': { notUserOwned: 'private helper keyed by the owner create/update already resolved for the actor; answers only whether a name is taken' },
  'AgentStore.editable': { notUserOwned: 'private helper scoped by the actor; exercised through update/remove' },
  'AgentStore.resolveDelegates': { isolation: agentIsolation },
  'AgentStore.onChange': { notUserOwned: 'in-process notification that some agent changed (the replica tells the others); carries no data' },
  'AgentStore.invalidate': { notUserOwned: 'drops the in-memory agent cache; carries no data' },
  'AgentStore.changed': { notUserOwned: 'private: drops the cache and fires the onChange listeners; carries no data' },
  'DelegationStore.begin': { isolation: delegationIsolation },
  'DelegationStore.finish': { isolation: delegationIsolation },
  'DelegationStore.get': { isolation: delegationIsolation },
  'DelegationStore.ofConversation': { isolation: delegationIsolation },
  'DelegationStore.claimQueued': { isolation: delegationIsolation },
  'ConversationStore.inConversation': { notUserOwned: 'private helper: whether a reply target is in the conversation append already resolved for the actor' },
  'ConversationStore.create': { isolation: conversationIsolation },
  'ConversationStore.get': { isolation: conversationIsolation },
  'ConversationStore.list': { isolation: conversationIsolation },
  'ConversationStore.update': { isolation: conversationIsolation },
  'ConversationStore.remove': { isolation: conversationIsolation },
  'ConversationStore.append': { isolation: conversationIsolation },
  'ConversationStore.appendAll': { isolation: conversationIsolation },
  'ConversationStore.getMessage': { isolation: conversationIsolation },
  'ConversationStore.findByExternalId': { isolation: conversationIsolation },
  'ConversationStore.listMessages': { isolation: conversationIsolation },
  'ConversationStore.allMessages': { isolation: conversationIsolation },
  'ConversationStore.counts': { isolation: conversationIsolation },
  'ConversationStore.setSummary': { isolation: conversationIsolation },
  'ConversationStore.nextUnanswered': { isolation: conversationIsolation },
  'ConversationStore.lastSeq': { isolation: conversationIsolation },
  'ConversationStore.pendingTurn': { isolation: conversationIsolation },
  'ConversationStore.pendingTurnFor': { isolation: conversationIsolation },
  'ConversationStore.history': { isolation: conversationIsolation },
  'TurnStore.storeAnswer': { isolation: conversationIsolation },
  'ConversationStore.search': { isolation: conversationIsolation },
  'ConversationStore.share': { isolation: sharedConversationIsolation },
  'ConversationStore.appendAsParticipant': { isolation: participantPostIsolation },
  'ConversationStore.appendWithin': { notUserOwned: 'private: the one body of append and appendAsParticipant; locks the conversation as the actor may reach it' },
  'ConversationStore.storedIn': { notUserOwned: 'private: a repeat of a message in the conversation appendAsParticipant has just reached for the actor' },
  'ConversationStore.markRedacted': { isolation: channelBookkeepingIsolation },
  'TeamStore.create': { isolation: teamIsolation },
  'TeamStore.list': { isolation: teamIsolation },
  'TeamStore.get': { isolation: teamIsolation },
  'TeamStore.members': { isolation: teamIsolation },
  'TeamStore.update': { isolation: teamIsolation },
  'TeamStore.remove': { isolation: teamIsolation },
  'TeamStore.addMember': { isolation: teamIsolation },
  'TeamStore.removeMember': { isolation: teamIsolation },
  'TeamStore.managed': { notUserOwned: 'private helper scoped by the actor (owner or admin); exercised through update/remove/addMember' },
  'TeamStore.ownerCount': { notUserOwned: "private: counts a team's owners for the last-owner guard; returns no rows" },
  'TeamStore.membersOf': { notUserOwned: "channels' lookup of a team the caller already resolved (who to invite to its Space and rooms); names only" },
  'TeamStore.describe': { notUserOwned: 'slugs and names of team ids a channel already holds (a shared room, a Space); no members, no content' },
  'TeamStore.budgetOf': { notUserOwned: "a team's monthly budget for routing a turn of a conversation shared with it; a number" },
  'TeamStore.spentSince': { notUserOwned: "a team's spend for its budget (routing, GET /api/teams/:id for members); a sum, no rows" },
  'TeamStore.allIds': { notUserOwned: "the channel's repair pass over every team's Space; ids only" },
  'TeamStore.sharedConversations': { notUserOwned: 'ids and owners of the conversations shared with a team, for inviting a new member; every read after acts as a member' },
  'ConversationStore.recordDelivery': { isolation: channelBookkeepingIsolation },
  'SessionStore.current': { isolation: sessionIsolation },
  'SessionStore.get': { isolation: sessionIsolation },
  'SessionStore.end': { isolation: sessionIsolation },
  'SessionStore.recordModel': { isolation: sessionIsolation },
  'SessionStore.recordCall': { isolation: sessionIsolation },
  'SessionStore.recordMessages': { isolation: sessionIsolation },
  'SessionStore.conversationUsage': { isolation: sessionIsolation },
  'SessionStore.userUsage': { isolation: sessionIsolation },
  'SessionStore.usageBy': { isolation: sessionIsolation },
  'SessionStore.allUsageBy': { notUserOwned: 'admin usage report (admin token only on /api/usage?scope=all)' },
  'MemoryStore.save': { isolation: memoryIsolation },
  'MemoryStore.get': { isolation: memoryIsolation },
  'MemoryStore.list': { isolation: memoryIsolation },
  'MemoryStore.remove': { isolation: memoryIsolation },
  'MemoryStore.searchByVector': { isolation: memoryIsolation },
  'MemoryStore.searchByText': { isolation: memoryIsolation },
  'MemoryStore.hasPgvector': { notUserOwned: 'private: detects the pgvector extension; no data access' },
  'RuleStore.create': { isolation: ruleIsolation },
  'RuleStore.listVisible': { isolation: ruleIsolation },
  'RuleStore.get': { isolation: ruleIsolation },
  'RuleStore.update': { isolation: ruleIsolation },
  'RuleStore.remove': { isolation: ruleIsolation },
  'RuleStore.reorder': { isolation: ruleIsolation },
  'RuleStore.setDisabledForMe': { isolation: ruleIsolation },
  'RuleStore.rulesFor': { isolation: ruleIsolation },
  'RuleStore.onChange': { notUserOwned: 'in-process notification that some rule changed (drops the rule cache); carries no data' },
  'RuleStore.changed': { notUserOwned: 'private: fires the onChange listeners; carries no data' },
  'RuleStore.disabledIds': { notUserOwned: 'private helper keyed by the acting user id; exercised through rulesFor' },
  'RuleStore.visibleRow': { notUserOwned: 'private helper scoped by the actor; exercised through get/setDisabledForMe' },
  'RuleStore.writableRow': { notUserOwned: 'private helper scoped by the actor; exercised through update/remove' },
  'RuleStore.requireAgentFor': { notUserOwned: "private helper: whether an agent is visible to a rule's owner (system rules: system agents only); answers yes/no, exercised by test/security" },
  'RuleStore.nextPriority': { notUserOwned: 'private: the next free priority number of a scope; returns no rows' },
  'RoomStore.byRoomId': { notUserOwned: 'channel mapping: the room a homeserver event came from to its conversation (who may speak there is the room membership)' },
  'RoomStore.byConversation': { notUserOwned: "channel mapping: a conversation to its room, for delivering that conversation's own events" },
  'RoomStore.link': { notUserOwned: 'channel mapping written when a room becomes a conversation' },
  'RoomStore.setReplyMode': { notUserOwned: 'room setting changed by !room inside that room' },
  'RoomStore.markEncrypted': { notUserOwned: "room flag set from the room's own state event" },
  'RoomStore.markTombstoned': { notUserOwned: 'room flag set when its conversation is archived or deleted' },
  'RoomStore.relink': { notUserOwned: 'channel mapping moved to a fresh room when its conversation is unarchived; only from the tombstoned room it had' },
  'RoomStore.clearTombstone': { notUserOwned: "room flag cleared when its conversation is unarchived; keyed by the conversation and its own room" },
  'RoomStore.messageIdForEvent': { notUserOwned: 'channel bookkeeping: a Matrix event id the homeserver delivered in that room to our message id; no listing' },
  'RoomStore.eventIdForMessage': { notUserOwned: 'channel bookkeeping: our message id to the Matrix event sent for it; no listing' },
  'RoomStore.messageBrief': { notUserOwned: 'channel bookkeeping for replies and threads of a message the channel is delivering; no listing' },
  'RoomStore.undeliveredSince': { notUserOwned: 'outbound recovery over every room the appservice serves: ids and owners only; every later read and write acts as the owner' },
  'RoomStore.conversationsOf': {
    isolation: async ({ database, alice, bob }) => {
      const conversations = new ConversationStore(database.db);
      const rooms = new RoomStore(database.db);
      const conv = await conversations.create(alice, { title: 'Alice room' });
      expect((await rooms.conversationsOf(alice.userId)).map((c) => c.id)).toContain(conv.id);
      expect((await rooms.conversationsOf(bob.userId)).map((c) => c.id)).not.toContain(conv.id);
      await conversations.remove(alice, conv.id);
    },
  },
  'RoomStore.roomsOf': {
    isolation: async ({ database, alice, bob }) => {
      const conversations = new ConversationStore(database.db);
      const rooms = new RoomStore(database.db);
      const conv = await conversations.create(alice, { title: 'Alice managed room' });
      await database.db.insert(conversationMatrixRooms).values({ conversationId: conv.id, roomId: `!iso-${conv.id}:test` });
      expect(await rooms.roomsOf(alice.userId)).toContain(`!iso-${conv.id}:test`);
      expect(await rooms.roomsOf(bob.userId)).not.toContain(`!iso-${conv.id}:test`);
      await conversations.remove(alice, conv.id);
    },
  },
  'SpaceStore.personalSpaceOf': { notUserOwned: "channel mapping: a person's Space room id, for placing that person's own rooms" },
  'SpaceStore.claimPersonalSpace': { notUserOwned: 'channel mapping written when the Matrix side creates a personal Space' },
  'SpaceStore.teamSpaceOf': { notUserOwned: "channel mapping: a team's Space room id, for a team change the caller already resolved" },
  'SpaceStore.claimTeamSpace': { notUserOwned: 'channel mapping written when the Matrix side creates a team Space' },
  'SpaceStore.forgetTeamSpace': { notUserOwned: "channel mapping removed when a deleted team's Space is closed" },
  'SpaceStore.recordInvites': { notUserOwned: 'channel bookkeeping: which Matrix ids a share invited to a room (to remove only them on unshare)' },
  'SpaceStore.invitesOf': { notUserOwned: 'channel bookkeeping: Matrix ids a team share invited to one room; no content' },
  'SpaceStore.roomsInvitedTo': { notUserOwned: 'channel bookkeeping: rooms a team share invited a departing member to; room ids only' },
  'SpaceStore.forgetInvites': { notUserOwned: 'channel bookkeeping removed after the invitees were removed' },
  'RoomStore.roomOfEvent': { notUserOwned: 'retention: the room a journalled event arrived in (an id for an id); no content' },
  'RoomStore.roomsToErase': { notUserOwned: "retention housekeeping: a deleted or purged conversation's room ids and deletion date; no content" },
  'RoomStore.markErased': { notUserOwned: 'retention housekeeping: marks a deleted conversation\'s rooms erased; no read' },
  'RoomStore.forgetEvents': { notUserOwned: 'retention housekeeping: deletes journalled copies of events already redacted; returns a count' },
  'RoomStore.forgetRoomEvents': { notUserOwned: "retention housekeeping: deletes a deleted conversation's journalled events; returns a count" },
  'AgentRoomStore.record': { notUserOwned: 'channel bookkeeping: an agent room id and its alias, written when the appservice creates or finds the room' },
  'AgentRoomStore.list': { notUserOwned: 'retention housekeeping: every agent room id, alias and purge mark (the purge job only); no content' },
  'AgentRoomStore.markRedactedBefore': { notUserOwned: "retention housekeeping: moves an agent room's purge mark; no read" },
  'RetentionStore.kindOverrides': { notUserOwned: 'admin policy per room kind; no user data' },
  'RetentionStore.setKindOverride': { notUserOwned: 'admin policy per room kind (admin route and CLI only)' },
  'RetentionStore.clearKindOverride': { notUserOwned: 'admin policy per room kind (admin route and CLI only)' },
  'RetentionStore.conversationOverrides': { notUserOwned: 'admin listing of conversation overrides: ids and days only (admin route and CLI only)' },
  'RetentionStore.conversationWithSettings': { notUserOwned: 'admin and purge: one conversation\'s policy settings (admin route, CLI and the purge job only)' },
  'RetentionStore.setConversationOverride': { notUserOwned: 'admin override of one conversation (admin route and CLI only)' },
  'RetentionStore.ownerSettings': { isolation: retentionIsolation },
  'RetentionStore.setOwnerDays': { isolation: retentionIsolation },
  'RetentionStore.shortestDays': { notUserOwned: 'purge housekeeping: the shortest retention in force; a number' },
  'RetentionStore.candidates': { notUserOwned: 'purge housekeeping over every conversation; the purge reads their messages only to delete them' },
  'RetentionStore.expiredMessages': { notUserOwned: 'purge housekeeping: the messages past their policy, read only to remove them from the channels and the store' },
  'RetentionStore.deleteMessages': { notUserOwned: 'purge housekeeping: deletes messages past their policy' },
  'RetentionStore.oldestMessageAt': { notUserOwned: 'purge housekeeping: a date' },
  'RetentionStore.markFailed': { notUserOwned: 'purge housekeeping: marks messages whose channel side failed' },
  'RetentionStore.deletedConversations': { notUserOwned: 'purge housekeeping: ids of conversations their owners deleted' },
  'RetentionStore.isDeleted': { notUserOwned: 'purge housekeeping: whether a conversation waits to be erased' },
  'RetentionStore.markEraseFailed': { notUserOwned: 'purge housekeeping: records why erasing failed' },
  'RetentionStore.removeDeleted': { notUserOwned: 'purge housekeeping: removes a conversation its owner already deleted' },
  'ChannelIdentityStore.ownerOf': { notUserOwned: "who sent an inbound chat event: the chat account's Mosaic account id and username, no user-owned content" },
  'ChannelIdentityStore.channelUsersOf': { notUserOwned: "where to reach an account's owner, for delivering that account's own conversations (keyed by the account the caller acts for)" },
  'ChannelIdentityStore.unlinkAny': { notUserOwned: 'admins (DELETE /api/auth/channel-links as admin) and operators only' },
  'ChannelIdentityStore.listFor': { isolation: channelIdentityIsolation },
  'ChannelIdentityStore.link': { isolation: channelIdentityIsolation },
  'ChannelIdentityStore.unlink': { isolation: channelIdentityIsolation },
  'LinkTokenStore.issue': { isolation: linkTokenIsolation },
  'LinkTokenStore.inspect': { isolation: linkTokenIsolation },
  'LinkTokenStore.consume': { isolation: linkTokenIsolation },
  'LinkTokenStore.burn': { isolation: linkTokenIsolation },
  'LinkTokenStore.key': { notUserOwned: 'private: the Valkey key of a token hash; no data access' },
  'LinkStateStore.createState': { isolation: linkStateIsolation },
  'LinkStateStore.peekState': { isolation: linkStateIsolation },
  'LinkStateStore.consumeState': { isolation: linkStateIsolation },
  'LinkStateStore.createForm': { isolation: linkStateIsolation },
  'LinkStateStore.consumeForm': { isolation: linkStateIsolation },
  'LinkStateStore.stateKey': { notUserOwned: 'private: the Valkey key of a state hash; no data access' },
  'LinkStateStore.formKey': { notUserOwned: 'private: the Valkey key of a form token hash; no data access' },
  'LinkStateStore.valid': { notUserOwned: 'private: checks a record read by peekState/consumeState' },
  'TokenStore.authenticate': { notUserOwned: 'resolves a presented secret to its own user; cannot name another user' },
  'TokenStore.identify': { notUserOwned: 'resolves a presented secret to its own user and token id; cannot name another user' },
  'TokenStore.activeIds': { notUserOwned: 'live connections re-check the token ids they were opened with; answers which are still valid, nothing else' },
  'TokenStore.issue': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const { token } = await tokens.issue(alice, 'iso');
      expect((await tokens.authenticate(token))?.userId).toBe(alice.userId);
      expect((await tokens.list(bob)).some((t) => t.name === 'iso')).toBe(false);
    },
  },
  'TokenStore.list': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const mine = await tokens.list(alice);
      const theirs = await tokens.list(bob);
      expect(mine.length).toBeGreaterThan(0);
      expect(theirs.length).toBeGreaterThan(0);
      expect(mine.filter((t) => theirs.some((o) => o.id === t.id))).toEqual([]);
    },
  },
  'TokenStore.revoke': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const [aliceToken] = await tokens.list(alice);
      await expect(tokens.revoke(bob, aliceToken!.id)).rejects.toMatchObject({ httpStatus: 404 });
      expect((await tokens.list(alice)).find((t) => t.id === aliceToken!.id)?.revokedAt).toBeNull();
    },
  },
};


async function agentIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const agents = new AgentStore(database.db);
  const mine = await agents.create(alice, { name: `iso-${Date.now()}`, systemPrompt: 'Private.' });
  expect((await agents.list(bob)).map((a) => a.id)).not.toContain(mine.id);
  expect((await agents.list(alice)).map((a) => a.id)).toContain(mine.id);
  await expect(agents.get(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  expect(await agents.findByName(bob, mine.name)).toBeNull();
  expect((await agents.findByName(alice, mine.name))?.id).toBe(mine.id);
  await expect(agents.update(bob, mine.id, { description: 'x' })).rejects.toMatchObject({ httpStatus: 404 });
  await expect(agents.remove(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  // Bob may hold an agent of the same name: names are per owner.
  const his = await agents.create(bob, { name: mine.name, systemPrompt: 'His.' });
  expect((await agents.findByName(alice, mine.name))?.id).toBe(mine.id);
  // delegatesTo resolves only among the owner's own and the system agents: Alice's agent is no agent for Bob.
  await expect(agents.create(bob, { name: `${mine.name}-d`, systemPrompt: 'p', delegatesTo: [mine.id] })).rejects.toMatchObject({ httpStatus: 400 });
  await agents.remove(bob, his.id);
  await agents.remove(alice, mine.id);
}

async function delegationIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new DelegationStore(database.db);
  const conv = await new ConversationStore(database.db).create(alice, { title: 'Alice delegates' });
  const id = randomUUID();
  const agent = randomUUID();
  await store.begin(alice, { id, conversationId: conv.id, exchangeId: randomUUID(), fromAgentId: agent, toAgentId: randomUUID(), kind: 'delegate', depth: 1, task: 'secret task', status: 'queued' });
  expect(await store.get(bob, id)).toBeNull();
  expect(await store.ofConversation(bob, conv.id)).toEqual([]);
  await store.finish(bob, id, { status: 'completed', result: 'forged' });
  expect(await store.claimQueued(bob.userId, id)).toBeNull();
  expect(await store.get(alice, id)).toMatchObject({ status: 'queued', result: null });
  expect((await store.ofConversation(alice, conv.id)).map((r) => r.id)).toEqual([id]);
  expect((await store.claimQueued(alice.userId, id))?.status).toBe('running');
}

async function conversationIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new ConversationStore(database.db);
  const conv = await store.create(alice, { title: 'Alice only' });
  const { message } = await store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'zucchini secret', channel: 'iso', externalId: `ext-${conv.id}` });
  const notFound = { httpStatus: 404 };
  await expect(store.get(bob, conv.id)).rejects.toMatchObject(notFound);
  expect((await store.list(bob, { limit: 100, offset: 0 })).items.map((c) => c.id)).not.toContain(conv.id);
  await expect(store.update(bob, conv.id, { title: 'stolen' })).rejects.toMatchObject(notFound);
  await expect(store.append(bob, conv.id, { role: 'user', senderId: bob.userId, senderType: 'user', content: 'x', channel: 'iso' })).rejects.toMatchObject(notFound);
  await expect(store.appendAll(bob, conv.id, [{ role: 'user', senderId: bob.userId, senderType: 'user', content: 'x', channel: 'iso' }])).rejects.toMatchObject(notFound);
  await expect(store.appendAsParticipant(bob, conv.id, { role: 'user', senderId: bob.userId, senderType: 'user', content: 'x', channel: 'iso' })).rejects.toMatchObject(notFound);
  expect(await store.getMessage(bob, message.id)).toBeNull();
  expect(await store.findByExternalId(bob, 'iso', `ext-${conv.id}`)).toBeNull();
  await expect(store.listMessages(bob, conv.id, { limit: 10 })).rejects.toMatchObject(notFound);
  await expect(store.allMessages(bob, conv.id)).rejects.toMatchObject(notFound);
  await expect(store.counts(bob, conv.id)).rejects.toMatchObject(notFound);
  await expect(store.setSummary(bob, conv.id, 'x', 1)).rejects.toMatchObject(notFound);
  await expect(store.nextUnanswered(bob, conv.id)).rejects.toMatchObject(notFound);
  await expect(store.lastSeq(bob, conv.id)).rejects.toMatchObject(notFound);
  await expect(store.pendingTurn(bob, conv.id)).rejects.toMatchObject(notFound);
  // Read for bob's id, alice's conversation is not there (bob's own row is).
  expect(await store.pendingTurnFor(bob.userId, conv.id)).toMatchObject({ user: { id: bob.userId }, turn: null });
  expect((await store.pendingTurnFor(alice.userId, conv.id)).turn?.conv.id).toBe(conv.id);
  await expect(store.history(bob, await store.get(alice, conv.id))).rejects.toMatchObject(notFound);
  // The answer's write locks the conversation as the actor's own first: nothing is written for bob.
  await expect(new TurnStore(database.db).storeAnswer(bob, { conversationId: conv.id, messages: [], lastRouting: null, session: {} as never, agentId: null, calls: [], messageCount: 0 } as never)).rejects.toMatchObject(notFound);
  expect((await store.history(alice, await store.get(alice, conv.id))).map((m) => m.id)).toEqual([message.id]);
  expect(await store.search(bob, 'zucchini')).toEqual([]);
  await expect(store.remove(bob, conv.id)).rejects.toMatchObject(notFound);
  // And the owner still reaches all of it.
  expect((await store.search(alice, 'zucchini')).map((h) => h.messageId)).toEqual([message.id]);
  expect((await store.getMessage(alice, message.id))?.content).toBe('zucchini secret');
  expect((await store.nextUnanswered(alice, conv.id))?.id).toBe(message.id);
  expect((await store.counts(alice, conv.id)).total).toBe(1);
  await store.remove(alice, conv.id);
}

/** A team is seen by its members (and admins) only, and changed by its owners (and admins) only. */
async function teamIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const teams = new TeamStore(database.db);
  const admin: Actor = { userId: alice.userId, role: 'admin', username: 'alice' };
  const notFound = { httpStatus: 404 };
  const forbidden = { httpStatus: 403 };
  const team = await teams.create(alice, { slug: `iso-${Date.now().toString(36)}`, name: 'Alice team' });
  expect(team.myRole).toBe('owner');
  // Bob is not in it: nothing about it reaches him.
  expect((await teams.list(bob)).map((t) => t.id)).not.toContain(team.id);
  expect((await teams.list(bob, { all: true })).map((t) => t.id)).not.toContain(team.id);
  await expect(teams.get(bob, team.id)).rejects.toMatchObject(notFound);
  await expect(teams.get(bob, team.slug)).rejects.toMatchObject(notFound);
  await expect(teams.members(bob, team.id)).rejects.toMatchObject(notFound);
  await expect(teams.update(bob, team.id, { name: 'stolen' })).rejects.toMatchObject(notFound);
  await expect(teams.remove(bob, team.id)).rejects.toMatchObject(notFound);
  await expect(teams.addMember(bob, team.id, bob.userId)).rejects.toMatchObject(notFound);
  await expect(teams.removeMember(bob, team.id, alice.userId)).rejects.toMatchObject(notFound);
  // Nor can he create a team in someone else's name.
  await expect(teams.create(bob, { slug: `iso-b-${Date.now().toString(36)}`, ownerId: alice.userId })).rejects.toMatchObject(forbidden);
  // A member sees it and may leave, but changes nothing else.
  expect((await teams.addMember(alice, team.id, bob.userId)).added).toBe(true);
  expect((await teams.get(bob, team.id)).myRole).toBe('member');
  expect((await teams.members(bob, team.id)).map((m) => m.username).sort()).toEqual(['alice', 'bob']);
  await expect(teams.update(bob, team.id, { name: 'stolen' })).rejects.toMatchObject(forbidden);
  await expect(teams.remove(bob, team.id)).rejects.toMatchObject(forbidden);
  await expect(teams.addMember(bob, team.id, bob.userId, 'owner')).rejects.toMatchObject(forbidden);
  await expect(teams.removeMember(bob, team.id, alice.userId)).rejects.toMatchObject(forbidden);
  expect((await teams.get(alice, team.id)).name).toBe('Alice team');
  // The last owner stays.
  await expect(teams.removeMember(alice, team.id, alice.userId)).rejects.toMatchObject({ httpStatus: 409 });
  await expect(teams.addMember(alice, team.id, alice.userId, 'member')).rejects.toMatchObject({ httpStatus: 409 });
  expect((await teams.removeMember(bob, team.id, bob.userId)).removed).toBe(true);
  await expect(teams.get(bob, team.id)).rejects.toMatchObject(notFound);
  // Admins see and manage every team.
  const bobs = await teams.create(bob, { slug: `iso-c-${Date.now().toString(36)}` });
  expect((await teams.list(admin, { all: true })).map((t) => t.id)).toContain(bobs.id);
  expect((await teams.get(admin, bobs.id)).myRole).toBeNull();
  expect((await teams.update(admin, bobs.id, { monthlyBudgetUsd: 5 })).monthlyBudgetUsd).toBe(5);
  await teams.remove(admin, bobs.id);
  await teams.remove(alice, team.id);
  await expect(teams.get(alice, team.id)).rejects.toMatchObject(notFound);
}

/**
 * A conversation shared with a team: its members read it (and only read
 * it) while it is shared; before, after, and for anyone outside the team,
 * it answers 404 exactly as an unshared one does.
 */
async function sharedConversationIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new ConversationStore(database.db);
  const teams = new TeamStore(database.db);
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: `dave-${Date.now().toString(36)}` });
  const dave = actorOf((await accounts.users.findByUsername((await accounts.listUsers()).find((u) => u.username.startsWith('dave-'))!.username))!);
  const team = await teams.create(alice, { slug: `share-${Date.now().toString(36)}` });
  await teams.addMember(alice, team.id, bob.userId);
  const conv = await store.create(alice, { title: 'Alice shares this' });
  const { message } = await store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'rutabaga plans', channel: 'iso', externalId: `ext-share-${conv.id}` });
  const notFound = { httpStatus: 404 };
  const reads = async (who: Actor, can: boolean) => {
    if (can) {
      expect((await store.get(who, conv.id)).id).toBe(conv.id);
      expect((await store.list(who, { limit: 100, offset: 0 })).items.map((c) => c.id)).toContain(conv.id);
      expect((await store.listMessages(who, conv.id, { limit: 10 })).map((m) => m.id)).toEqual([message.id]);
      expect((await store.allMessages(who, conv.id)).map((m) => m.id)).toEqual([message.id]);
      expect((await store.getMessage(who, message.id))?.content).toBe('rutabaga plans');
      expect((await store.search(who, 'rutabaga')).map((h) => h.messageId)).toEqual([message.id]);
      expect(await store.lastSeq(who, conv.id)).toBe(message.seq);
      expect((await store.counts(who, conv.id)).total).toBe(1);
    } else {
      await expect(store.get(who, conv.id)).rejects.toMatchObject(notFound);
      expect((await store.list(who, { limit: 100, offset: 0 })).items.map((c) => c.id)).not.toContain(conv.id);
      await expect(store.listMessages(who, conv.id, { limit: 10 })).rejects.toMatchObject(notFound);
      await expect(store.allMessages(who, conv.id)).rejects.toMatchObject(notFound);
      expect(await store.getMessage(who, message.id)).toBeNull();
      expect(await store.search(who, 'rutabaga')).toEqual([]);
      await expect(store.lastSeq(who, conv.id)).rejects.toMatchObject(notFound);
      await expect(store.counts(who, conv.id)).rejects.toMatchObject(notFound);
      await expect(store.nextUnanswered(who, conv.id)).rejects.toMatchObject(notFound);
    }
    // Reading is all a member may do: every change stays the owner's.
    await expect(store.update(who, conv.id, { title: 'stolen' })).rejects.toMatchObject(notFound);
    await expect(store.append(who, conv.id, { role: 'user', senderId: who.userId, senderType: 'user', content: 'x', channel: 'iso' })).rejects.toMatchObject(notFound);
    await expect(store.appendAll(who, conv.id, [{ role: 'user', senderId: who.userId, senderType: 'user', content: 'x', channel: 'iso' }])).rejects.toMatchObject(notFound);
    await expect(store.setSummary(who, conv.id, 'x', 1)).rejects.toMatchObject(notFound);
    await expect(store.share(who, conv.id, null)).rejects.toMatchObject(notFound);
    await expect(store.share(who, conv.id, team.id)).rejects.toMatchObject(notFound);
    await expect(store.remove(who, conv.id)).rejects.toMatchObject(notFound);
    expect(await store.findByExternalId(who, 'iso', `ext-share-${conv.id}`)).toBeNull();
    expect(await store.markRedacted(who, 'iso', `ext-share-${conv.id}`, { redactedBy: who.username })).toBe(false);
    expect(await store.recordDelivery(who, message.id, 'iso', { eventId: '$x' })).toBe(false);
  };
  // Before the share.
  await reads(bob, false);
  await reads(dave, false);
  // The owner cannot share with a team she is not in.
  const davesTeam = await teams.create(dave, { slug: `dave-${Date.now().toString(36)}` });
  await expect(store.share(alice, conv.id, davesTeam.id)).rejects.toMatchObject(notFound);
  await expect(store.share(alice, conv.id, 'not-a-uuid')).rejects.toMatchObject(notFound);
  // During.
  expect((await store.share(alice, conv.id, team.id)).previousTeamId).toBeNull();
  await reads(bob, true);
  await reads(dave, false);
  // A member who leaves the team loses it; one who joins gets it.
  await teams.removeMember(alice, team.id, bob.userId);
  await reads(bob, false);
  await teams.addMember(alice, team.id, bob.userId);
  await reads(bob, true);
  // After.
  expect((await store.share(alice, conv.id, null)).previousTeamId).toBe(team.id);
  await reads(bob, false);
  await reads(dave, false);
  expect((await store.get(alice, conv.id)).teamId).toBeNull();
  await teams.remove(dave, davesTeam.id);
  await teams.remove(alice, team.id);
  await store.remove(alice, conv.id);
}

/**
 * Posting in a conversation: its owner always; a member of the team it is
 * shared with while it is shared (stored under the owner, nothing else
 * changes); nobody before the share or after it, nor in the owner's other
 * conversations — and a member's repeat never returns the owner's message.
 */
async function participantPostIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new ConversationStore(database.db);
  const teams = new TeamStore(database.db);
  const team = await teams.create(alice, { slug: `post-${Date.now().toString(36)}` });
  await teams.addMember(alice, team.id, bob.userId);
  const conv = await store.create(alice, { title: 'Alice posts here' });
  const other = await store.create(alice, { title: 'Alice alone' });
  const note = (who: Actor, content: string, externalId?: string) => ({ role: 'user', senderId: who.userId, senderType: 'user', content, channel: 'iso', ...(externalId ? { externalId } : {}) }) as const;
  const notFound = { httpStatus: 404 };
  expect(await store.appendAsParticipant(alice, conv.id, note(alice, 'the owner writes'))).toMatchObject({ created: true, message: { ownerId: alice.userId } });
  await store.append(alice, other.id, note(alice, 'private turnip', `collide-${conv.id}`));
  // Before the share.
  await expect(store.appendAsParticipant(bob, conv.id, note(bob, 'x'))).rejects.toMatchObject(notFound);
  // During: stored under the owner, with what `prepare` adds after seeing the conversation.
  await store.share(alice, conv.id, team.id);
  const posted = await store.appendAsParticipant(bob, conv.id, note(bob, 'the member writes', `bob-${conv.id}`), (c) => ({ metadata: { mosaicUserId: bob.userId, ownerSeen: c.ownerId } }));
  expect(posted.created).toBe(true);
  expect(posted.message).toMatchObject({ ownerId: alice.userId, conversationId: conv.id, metadata: { mosaicUserId: bob.userId, ownerSeen: alice.userId } });
  expect((await store.listMessages(alice, conv.id, { limit: 10 })).map((m) => m.content)).toEqual(['the owner writes', 'the member writes']);
  expect(await store.appendAsParticipant(bob, conv.id, note(bob, 'the member writes', `bob-${conv.id}`))).toMatchObject({ created: false, message: { id: posted.message.id } });
  // An id that collides with one of the owner's messages elsewhere is refused, never answered with that message.
  const collision = store.appendAsParticipant(bob, conv.id, note(bob, 'y', `collide-${conv.id}`));
  await expect(collision).rejects.toMatchObject({ httpStatus: 400 });
  // Posting is all: the owner's other conversations and every other change stay out of reach.
  await expect(store.appendAsParticipant(bob, other.id, note(bob, 'x'))).rejects.toMatchObject(notFound);
  await expect(store.append(bob, conv.id, note(bob, 'x'))).rejects.toMatchObject(notFound);
  await expect(store.update(bob, conv.id, { title: 'stolen' })).rejects.toMatchObject(notFound);
  // After.
  await store.share(alice, conv.id, null);
  await expect(store.appendAsParticipant(bob, conv.id, note(bob, 'x'))).rejects.toMatchObject(notFound);
  await teams.remove(alice, team.id);
  await store.remove(alice, conv.id);
  await store.remove(alice, other.id);
}

async function sessionIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const conversations = new ConversationStore(database.db);
  const sessions = new SessionStore(database.db);
  const conv = await conversations.create(alice);
  const session = await sessions.current(alice, conv.id, { agentId: null, provider: 'anthropic', model: 'claude-haiku-5-5' });
  await sessions.recordCall(alice, session.id, { provider: 'anthropic', model: 'claude-haiku-5-5', purpose: 'reply', inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.001 }, { conversationId: conv.id, agentId: null });
  await sessions.recordMessages(alice, session.id, 2);
  const notFound = { httpStatus: 404 };
  await expect(sessions.get(bob, session.id)).rejects.toMatchObject(notFound);
  await expect(sessions.recordModel(bob, session.id, 'openai', 'gpt-6-sol')).rejects.toMatchObject(notFound);
  await expect(sessions.recordCall(bob, session.id, { provider: 'x', model: 'y', purpose: 'reply', inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 1 }, { conversationId: conv.id, agentId: null })).rejects.toMatchObject(notFound);
  await expect(sessions.recordMessages(bob, session.id, 1)).rejects.toMatchObject(notFound);
  await sessions.end(bob, session.id);
  expect((await sessions.get(alice, session.id)).session.status).toBe('active');
  // Bob's "current" session in Alice's conversation id is his own, never hers.
  expect((await sessions.current(bob, conv.id, { agentId: null, provider: null, model: null }).catch(() => null))?.id).not.toBe(session.id);
  expect((await sessions.conversationUsage(bob, conv.id)).calls).toBe(0);
  expect((await sessions.userUsage(bob)).costUsd).toBe(0);
  expect((await sessions.usageBy(bob, 'model')).length).toBe(0);
  expect((await sessions.conversationUsage(alice, conv.id)).calls).toBe(1);
  expect((await sessions.usageBy(alice, 'model')).map((r) => r.key)).toEqual(['anthropic/claude-haiku-5-5']);
  await sessions.end(alice, session.id);
}

async function retentionIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const conversations = new ConversationStore(database.db);
  const retention = new RetentionStore(database.db);
  const conv = await conversations.create(alice, { title: 'Alice keeps a week' });
  await retention.setOwnerDays(alice, conv.id, 7);
  await expect(retention.ownerSettings(bob, conv.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(retention.setOwnerDays(bob, conv.id, 1)).rejects.toMatchObject({ httpStatus: 404 });
  expect((await retention.ownerSettings(alice, conv.id)).settings?.ownerDays).toBe(7);
  await conversations.remove(alice, conv.id);
  // A deleted conversation is nobody's to change any more.
  await expect(retention.setOwnerDays(alice, conv.id, 1)).rejects.toMatchObject({ httpStatus: 404 });
}

async function memoryIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const memories = new MemoryStore(database.db);
  const mine = await memories.save(alice, { content: 'Alice hides keys under the mat.', embedding: [1, 0, 0], embeddingModel: 'm' });
  await expect(memories.get(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(memories.remove(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  expect((await memories.list(bob)).map((m) => m.id)).not.toContain(mine.id);
  expect(await memories.searchByVector(bob, [1, 0, 0], 'm')).toEqual([]);
  expect(await memories.searchByText(bob, 'keys mat')).toEqual([]);
  expect((await memories.searchByVector(alice, [1, 0, 0], 'm'))[0]?.id).toBe(mine.id);
  await memories.remove(alice, mine.id);
}

async function ruleIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const rules = new RuleStore(database.db);
  const mine = await rules.create(alice, { name: 'alice rule', conditions: [{ type: 'taskType', value: 'coding' }], action: { routeTo: { provider: 'ollama', model: 'llama3.2' } } });
  expect((await rules.listVisible(bob)).map((r) => r.id)).not.toContain(mine.id);
  expect((await rules.rulesFor(bob.userId)).userRules.map((r) => r.id)).not.toContain(mine.id);
  expect((await rules.rulesFor(alice.userId)).userRules.map((r) => r.id)).toContain(mine.id);
  await expect(rules.get(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(rules.update(bob, mine.id, { enabled: false })).rejects.toMatchObject({ httpStatus: 404 });
  await expect(rules.remove(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(rules.setDisabledForMe(bob, mine.id, true)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(rules.reorder(bob, { scope: 'user', ids: [mine.id] })).rejects.toMatchObject({ httpStatus: 400 });
  // Disabling a system rule is per user.
  const system = (await rules.listVisible(alice)).find((r) => r.ownerId === null)!;
  await rules.setDisabledForMe(alice, system.id, true);
  expect((await rules.rulesFor(alice.userId)).systemRules.map((r) => r.id)).not.toContain(system.id);
  expect((await rules.rulesFor(bob.userId)).systemRules.map((r) => r.id)).toContain(system.id);
  await rules.setDisabledForMe(alice, system.id, false);
  await rules.remove(alice, mine.id);
}

async function credentialIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new CredentialStore(database.db, new SecretBox({ id: 'iso', secret: 'isolation-test-secret-0123456789abcdef' }));
  const mine = await store.create(alice, { provider: 'openai', secret: { type: 'api_key', apiKey: 'sk-alice-isolation-000000' } });
  expect((await store.list(bob)).map((c) => c.id)).not.toContain(mine.id);
  await expect(store.get(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(store.update(bob, mine.id, { label: 'x' })).rejects.toMatchObject({ httpStatus: 404 });
  await expect(store.remove(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  expect(await store.resolveForUse(bob, 'openai')).toBeNull();
  expect(await store.has(bob, 'openai')).toBe(false);
  expect((await store.get(alice, mine.id)).label).toBe('');
  await store.remove(alice, mine.id);
}

/** What a channel writes onto stored messages (redactions, where a message was delivered) only reaches the owner's. */
async function channelBookkeepingIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new ConversationStore(database.db);
  const conv = await store.create(alice, { title: 'Alice only' });
  const externalId = `$iso-${conv.id}`;
  const { message } = await store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'kohlrabi secret', channel: 'iso', externalId });
  // Bob names Alice's message exactly: nothing changes.
  expect(await store.markRedacted(bob, 'iso', externalId, { redactedBy: 'bob' })).toBe(false);
  expect(await store.recordDelivery(bob, message.id, 'iso', { eventId: '$stolen' })).toBe(false);
  let row = (await store.getMessage(alice, message.id))!;
  expect(row.redactedAt).toBeNull();
  expect(row.metadata).not.toHaveProperty('iso');
  expect(row.metadata).not.toHaveProperty('redactedBy');
  // Alice (the owner) can.
  expect(await store.recordDelivery(alice, message.id, 'iso', { eventId: '$sent' })).toBe(true);
  expect(await store.markRedacted(alice, 'iso', externalId, { redactedBy: 'alice' })).toBe(true);
  row = (await store.getMessage(alice, message.id))!;
  expect(row.redactedAt).not.toBeNull();
  expect(row.metadata).toMatchObject({ iso: { eventId: '$sent' }, redactedBy: 'alice' });
  expect(await store.search(alice, 'kohlrabi')).toEqual([]);
  await store.remove(alice, conv.id);
}

/** A chat account belongs to one Mosaic account: another cannot take, list or unlink it. */
async function channelIdentityIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new ChannelIdentityStore(database.db);
  const id = '@alice-iso:test.local';
  expect(await store.link('matrix', id, alice.userId)).toMatchObject({ outcome: 'linked' });
  // Bob cannot take it over, list it or unlink it.
  expect(await store.link('matrix', id, bob.userId)).toMatchObject({ outcome: 'taken', owner: { userId: alice.userId, username: 'alice' } });
  expect((await store.listFor(bob)).map((l) => l.channelUserId)).not.toContain(id);
  await expect(store.unlink(bob, 'matrix', id)).rejects.toMatchObject({ httpStatus: 404 });
  expect((await store.ownerOf('matrix', id))?.userId).toBe(alice.userId);
  // Alice can.
  expect(await store.link('matrix', id, alice.userId)).toMatchObject({ outcome: 'already' });
  expect((await store.listFor(alice)).map((l) => l.channelUserId)).toEqual([id]);
  await store.unlink(alice, 'matrix', id);
  expect(await store.ownerOf('matrix', id)).toBeNull();
}

/** A web session is its own user's alone: its id, its CSRF token; signing out ends it and nobody else's. */
async function webSessionIsolation({ database, valkey, prefix, alice, bob }: Ctx): Promise<void> {
  const accounts = new AccountService(database.db);
  const sessions = new WebSessionStore(valkey, prefix, accounts.users, accounts.tokens, 60);
  const a = await sessions.create(alice);
  const b = await sessions.create(bob);
  const ra = await sessions.resolve(a.sessionId);
  const rb = await sessions.resolve(b.sessionId);
  expect(ra?.actor.userId).toBe(alice.userId);
  expect(rb?.actor.userId).toBe(bob.userId);
  // One session's CSRF token is worthless with another session.
  expect(ra!.csrfMatches(a.csrfToken)).toBe(true);
  expect(ra!.csrfMatches(b.csrfToken)).toBe(false);
  expect(rb!.csrfMatches(a.csrfToken)).toBe(false);
  // A near miss is nobody's; the CSRF token is not a session id.
  const flipped = a.sessionId.slice(0, -1) + (a.sessionId.endsWith('A') ? 'B' : 'A');
  expect(await sessions.resolve(flipped)).toBeNull();
  expect(await sessions.resolve(a.csrfToken)).toBeNull();
  expect(await sessions.stillValid([ra!.key, rb!.key])).toEqual(new Set([ra!.key, rb!.key]));
  await sessions.remove(a.sessionId);
  expect(await sessions.resolve(a.sessionId)).toBeNull();
  expect((await sessions.resolve(b.sessionId))?.actor.userId).toBe(bob.userId);
  expect(await sessions.stillValid([ra!.key, rb!.key])).toEqual(new Set([rb!.key]));
  await sessions.remove(b.sessionId);
}

/** A link token resolves to the one account it was issued for, once. */
async function linkTokenIsolation({ valkey, prefix, alice, bob }: Ctx): Promise<void> {
  const tokens = new LinkTokenStore(valkey, prefix);
  const forAlice = await tokens.issue(alice.userId, 'matrix');
  const forBob = await tokens.issue(bob.userId, 'matrix');
  expect(await tokens.inspect(forAlice.token)).toMatchObject({ state: 'valid', userId: alice.userId });
  expect(await tokens.consume(forBob.token)).toEqual({ userId: bob.userId, channel: 'matrix' });
  expect(await tokens.consume(forAlice.token)).toEqual({ userId: alice.userId, channel: 'matrix' });
  // Once only, and a near miss is nobody's.
  expect(await tokens.consume(forAlice.token)).toBeNull();
  expect(await tokens.inspect(forAlice.token)).toMatchObject({ state: 'used', userId: alice.userId });
  const flipped = forBob.token.slice(0, -1) + (forBob.token.endsWith('0') ? '1' : '0');
  expect(await tokens.inspect(flipped)).toEqual({ state: 'unknown' });
  const burned = await tokens.issue(alice.userId, 'matrix');
  expect(await tokens.burn(burned.token)).toBe(true);
  expect(await tokens.consume(burned.token)).toBeNull();
}

/** A browser state and its forms only work together, and a confirm form carries the account that signed in. */
async function linkStateIsolation({ valkey, prefix, alice }: Ctx): Promise<void> {
  const states = new LinkStateStore(valkey, prefix);
  const mine = await states.createState({ channel: 'matrix', channelUserId: '@a:test.local', context: {} });
  const theirs = await states.createState({ channel: 'matrix', channelUserId: '@b:test.local', context: {} });
  expect((await states.peekState(mine.nonce))?.channelUserId).toBe('@a:test.local');
  const form = await states.createForm(mine.nonce, 'confirm', alice.userId);
  // A form of one state is nothing with another state, or for another step.
  expect(await states.consumeForm(form, theirs.nonce, 'confirm')).toBeNull();
  const again = await states.createForm(mine.nonce, 'confirm', alice.userId);
  expect(await states.consumeForm(again, mine.nonce, 'sign-in')).toBeNull();
  const good = await states.createForm(mine.nonce, 'confirm', alice.userId);
  expect(await states.consumeForm(good, mine.nonce, 'confirm')).toEqual({ userId: alice.userId });
  expect(await states.consumeForm(good, mine.nonce, 'confirm')).toBeNull();
  expect((await states.consumeState(mine.nonce))?.channelUserId).toBe('@a:test.local');
  expect(await states.consumeState(mine.nonce)).toBeNull();
  expect((await states.peekState(theirs.nonce))?.channelUserId).toBe('@b:test.local');
}

function storeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return storeFiles(full);
    return name.endsWith('-store.ts') ? [full] : [];
  });
}

async function storeMethods(): Promise<string[]> {
  const keys: string[] = [];
  for (const file of [...storeFiles(path.resolve('src')), ...storeFiles(path.resolve('appservice'))]) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !/^class\s/.test(Function.prototype.toString.call(value))) continue;
      const proto = (value as { prototype: object }).prototype;
      for (const method of Object.getOwnPropertyNames(proto)) {
        if (method !== 'constructor') keys.push(`${exportName}.${method}`);
      }
    }
  }
  return keys.sort();
}

/** Deleting one account removes its rows only: another user's conversations, agents and tokens stay. */
async function userDeletionIsolation({ database, alice }: Ctx): Promise<void> {
  const accounts = new AccountService(database.db);
  const { token: carolToken } = await accounts.createUser({ username: `carol-${Date.now().toString(36)}` });
  const carol = (await accounts.tokens.authenticate(carolToken))!;
  const conversations = new ConversationStore(database.db);
  const agents = new AgentStore(database.db);
  await conversations.create(carol, { title: 'carol only' });
  await agents.create(carol, { name: `carol-agent-${Date.now()}`, systemPrompt: 'Hers.' });
  const alicesBefore = await accounts.users.dataInventory(alice.userId);
  const aliceConversation = await conversations.create(alice, { title: 'alice keeps this' });
  const carolsBefore = await accounts.users.dataInventory(carol.userId);
  expect(carolsBefore).toMatchObject({ conversations: 1, agents: 1, tokens: 1 });

  await accounts.users.remove(carol.userId);
  expect(await accounts.users.findById(carol.userId)).toBeNull();
  expect(await accounts.users.dataInventory(carol.userId)).toMatchObject({ conversations: 0, agents: 0, tokens: 0 });
  expect(await accounts.tokens.authenticate(carolToken)).toBeNull();
  expect(await accounts.users.dataInventory(alice.userId)).toMatchObject({ conversations: alicesBefore.conversations + 1, agents: alicesBefore.agents, tokens: alicesBefore.tokens });
  expect((await conversations.get(alice, aliceConversation.id)).title).toBe('alice keeps this');
  await conversations.remove(alice, aliceConversation.id);
}

let ctx: Ctx;
beforeAll(async () => {
  const { database } = await createPgDatabase();
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  await accounts.createUser({ username: 'bob' });
  const prefix = redisPrefix('iso');
  ctx = {
    database,
    valkey: await connectValkey(TEST_REDIS_URL),
    prefix,
    alice: actorOf((await accounts.users.findByUsername('alice'))!),
    bob: actorOf((await accounts.users.findByUsername('bob'))!),
  };
});
afterAll(async () => {
  // The run's Redis keys are removed by the global teardown.
  await ctx.valkey.quit();
  await ctx.database.close();
});

describe('user data isolation', () => {
  it('every storage function is covered by this test', async () => {
    const methods = await storeMethods();
    expect(methods.length).toBeGreaterThan(0);
    const missing = methods.filter((m) => !(m in coverage));
    expect(missing, `add these storage functions to test/foundation/isolation.test.ts: ${missing.join(', ')}`).toEqual([]);
  });

  // One scenario often covers several methods of a store: run each scenario once, named for all it covers.
  const scenarios = new Map<(ctx: Ctx) => Promise<void>, string[]>();
  for (const [name, entry] of Object.entries(coverage)) {
    if ('isolation' in entry) scenarios.set(entry.isolation, [...(scenarios.get(entry.isolation) ?? []), name]);
  }
  for (const [scenario, names] of scenarios) {
    it(`${names.join(', ')} only reach the acting user's rows`, async () => scenario(ctx));
  }
});
