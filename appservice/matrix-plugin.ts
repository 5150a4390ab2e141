/**
 * The Matrix channel as a MosaicPlugin: started when `matrix.enabled`.
 * Wires the registration, the Client-Server client, ghosts, rooms,
 * identities, the event pipeline and the reply streamer into one adapter,
 * registered in a ChannelRegistry and reported by /readyz.
 */
import type { MosaicCore, MosaicPlugin } from '../src/main.ts';
import { portAvailable } from '../src/http/listen.ts';
import { ChannelRegistry } from '../src/protocol/channel-registry.ts';
import { ConversationStore } from '../src/conversations/conversation-store.ts';
import { BotCommands, roomCommand } from './inbound/bot-commands.ts';
import { DeliveryRecovery } from './outbound/delivery-recovery.ts';
import { EventHandler } from './inbound/event-handler.ts';
import { EventJournal } from './transport/event-journal.ts';
import { EventProcessor, type ProcessorFaults } from './transport/event-processor.ts';
import { Ghosts } from './identity/ghosts.ts';
import { RoomMembers } from './rooms/room-members.ts';
import { CHANNEL, IdentityService } from './identity/identities.ts';
import { DirectRooms } from './identity/direct-rooms.ts';
import { identityReactions } from './identity/identity-reactions.ts';
import { matrixLinkChannel } from './identity/matrix-link-channel.ts';
import { MatrixAdapter } from './matrix-adapter.ts';
import { MatrixClient } from './transport/matrix-client.ts';
import { MatrixMetrics } from './transport/matrix-metrics.ts';
import { loadRegistration, type Registration } from './transport/registration.ts';
import { ReplyStreamer } from './outbound/reply-streamer.ts';
import { SendFailures } from './outbound/send-failures.ts';
import { RoomManager } from './rooms/room-manager.ts';
import { RoomStore } from './rooms/room-store.ts';
import { SpaceManager } from './spaces/space-manager.ts';
import { SpaceStore } from './spaces/space-store.ts';
import { personalSpaceReactions, teamSpaceReactions } from './spaces/space-reactions.ts';
import { AgentRooms } from './agent-rooms/agent-rooms.ts';
import { ActiveExchanges, AgentRoomInbound } from './agent-rooms/agent-room-inbound.ts';
import { AgentRoomStore } from './agent-rooms/agent-room-store.ts';
import { MatrixEraser } from './retention/matrix-eraser.ts';
import { SynapsePurge } from './retention/synapse-purge.ts';

export interface MatrixPluginOptions {
  /** Use this registration instead of reading `matrix.registrationFile`. */
  registration?: Registration;
  /** Test hooks that simulate crashes at chosen points. */
  faults?: ProcessorFaults;
  /** How often stale events are picked up again (default 30 s). */
  sweepIntervalMs?: number;
  /** Outbound recovery: how often to look for undelivered answers (default 60 s), and how old they must be (default 30 s). */
  recovery?: { intervalMs?: number; graceMs?: number };
  /** Retry pacing of Client-Server calls (tests make it fast). */
  clientRetry?: { baseDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /** Receives the adapter once started (tests, other plugins). */
  onStarted?(adapter: MatrixAdapter, registry: ChannelRegistry): void;
}

/** Media up to this size reaches the model inline. */
const INLINE_MEDIA_BYTES = 4 * 1024 * 1024;

export function matrixPlugin(options: MatrixPluginOptions = {}): MosaicPlugin {
  return {
    name: 'matrix',
    async check(config) {
      if (!config.matrix.enabled) return null;
      const registration = options.registration ?? loadRegistration(config.matrix.registrationFile);
      await portAvailable({ port: config.matrix.port, host: config.matrix.host, setting: 'APPSERVICE_PORT (matrix.port)' });
      return `matrix: registration ${options.registration ? '(given)' : config.matrix.registrationFile} for @${registration.sender_localpart}:${config.matrix.serverName}; appservice port ${config.matrix.host}:${config.matrix.port} is free`;
    },
    async start(core: MosaicCore) {
      const { config, logger, database, services } = core;
      if (!config.matrix.enabled) return null;
      const m = config.matrix;
      const registration = options.registration ?? loadRegistration(m.registrationFile);
      const botUserId = `@${registration.sender_localpart}:${m.serverName}`;
      const metrics = MatrixMetrics.on(core.metrics.registry);
      const client = new MatrixClient({ homeserverUrl: m.homeserverUrl, asToken: registration.as_token, botUserId, logger, metrics, ...options.clientRetry });
      const ghosts = new Ghosts(client, database.db, m.serverName, logger);
      const rooms = new RoomStore(database.db);
      const conversations = new ConversationStore(database.db);
      const { links, browser } = core.linking;
      core.linking.channels.register(matrixLinkChannel(m.serverName));
      if (!config.http.publicUrl) logger.warn({ channel: 'matrix', event: 'link.no_public_url' }, 'http.publicUrl (PUBLIC_URL) is not set: the bot offers link tokens but no browser link');
      const identities = new IdentityService({
        links,
        browser,
        users: core.accounts.users,
        policy: { unlinkedUsers: m.unlinkedUsers, autoProvisionDomains: m.autoProvisionDomains, serverName: m.serverName },
        publicUrl: config.http.publicUrl,
        botUserId,
        logger,
      });
      const directs = new DirectRooms(client, botUserId, logger);
      const manager = new RoomManager(client, ghosts, rooms, logger);
      const ownerActor = (userId: string) => identities.actorById(userId);
      // Retention reaches the homeserver through this: nothing is deleted in Mosaic that is not redacted here.
      const agentRoomStore = new AgentRoomStore(database.db);
      const eraser = new MatrixEraser({ client, rooms, ghosts, manager, synapse: m.synapseAdminToken ? new SynapsePurge(m.homeserverUrl, m.synapseAdminToken, logger) : null, agentRooms: agentRoomStore, logger });
      services.retention.erasers.register(eraser);
      const service = services.conversations;
      services.commands.register(roomCommand(rooms));
      const bot = new BotCommands({ service, commands: services.commands, identities, links, ghosts, rooms, manager, logger });
      services.identityEvents.on(CHANNEL, identityReactions({ client, botUserId, links, identities, directs, manager, rooms, bot, removeFromRoomsOnUnlink: m.removeFromRoomsOnUnlink, logger }));
      const spaces = new SpaceManager({
        client,
        ghosts,
        rooms,
        spaces: new SpaceStore(database.db),
        teams: services.teams.store,
        users: core.accounts.users,
        conversations,
        matrixUsersOf: (userId) => identities.matrixUsersOf(userId),
        serverName: m.serverName,
        logger,
      });
      services.identityEvents.on(CHANNEL, personalSpaceReactions(spaces));
      services.teamEvents.on(teamSpaceReactions(spaces, logger));
      manager.onRoom((conversationId) => spaces.placeRoom(conversationId));
      let adapter: MatrixAdapter | null = null;
      const activeExchanges = new ActiveExchanges(core.valkey, config.valkey.keyPrefix);
      const agentRooms = new AgentRooms({ client, ghosts, botUserId, serverName: m.serverName, matrixUsersOf: (userId) => identities.matrixUsersOf(userId), active: activeExchanges, store: agentRoomStore, logger });
      const agentRoomInbound = new AgentRoomInbound({
        active: activeExchanges,
        actorFor: (matrixUserId) => identities.actorFor(matrixUserId),
        answers: service.answers,
        notice: async (roomId, text, name) => void (await manager.notice(roomId, botUserId, text, name)),
        displayName: async (roomId, userId) => {
          const member = await client.getState(roomId, 'm.room.member', userId, botUserId).catch(() => null);
          return typeof member?.displayname === 'string' && member.displayname ? member.displayname : userId;
        },
        logger,
      });
      const stopMirroring = service.delegation.events.on((event) => agentRooms.handle(event));
      const members = new RoomMembers(client, services.invalidation);
      await members.start();
      const handler = new EventHandler({
        members,
        agentRooms: { isAgentRoom: (roomId) => agentRooms.isAgentRoom(roomId), message: (e) => agentRoomInbound.message(e) },
        client,
        ghosts,
        rooms,
        conversations,
        manager,
        identities,
        directs,
        service,
        commands: services.commands,
        bot,
        logger,
        inlineMediaBytes: INLINE_MEDIA_BYTES,
        observe: (msg) => adapter?.deliver(msg) ?? Promise.resolve(),
      });
      const processor = new EventProcessor(new EventJournal(database.db), handler, logger, { metrics, isOurs: (userId) => ghosts.isOurs(userId), parallelism: m.intakeParallelism, ...(options.faults ? { faults: options.faults } : {}) });
      const streamer = new ReplyStreamer({ client, bus: services.bus, rooms, conversations, ownerActor, matrixUsersOf: (userId) => identities.matrixUsersOf(userId), manager, valkey: core.valkey, keyPrefix: config.valkey.keyPrefix, editIntervalMs: m.editIntervalMs, typingTimeoutMs: m.typingTimeoutMs, logger, failures: new SendFailures(logger, metrics, services.jobs.logs) });
      const recovery = new DeliveryRecovery({ rooms, conversations, streamer, ownerActor, logger, ...(options.recovery?.graceMs !== undefined ? { graceMs: options.recovery.graceMs } : {}) });
      adapter = new MatrixAdapter({
        registration,
        client,
        ghosts,
        identities,
        manager,
        processor,
        streamer,
        recovery,
        ...(options.recovery?.intervalMs ? { recoveryIntervalMs: options.recovery.intervalMs } : {}),
        host: m.host,
        port: m.port,
        reconnectMaxMs: m.reconnectMaxMs,
        onReachable: async () => {
          await client.setDisplayName(botUserId, 'Mosaic').catch((err: unknown) => logger.warn({ channel: 'matrix', event: 'bot.profile_failed', err: (err as Error).message }, 'could not set the bot display name'));
        },
        maxBodyBytes: m.maxBodyBytes,
        metrics,
        logger,
        ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
      });
      const registry = new ChannelRegistry(logger);
      registry.register(adapter);
      await registry.connectAll();
      const started = adapter;
      core.readiness.add({
        name: 'matrix',
        required: false,
        check: async () => {
          const health = (await registry.healthAll()).matrix ?? { status: 'disconnected' as const };
          return { ok: health.status === 'connected', detail: health };
        },
      });
      options.onStarted?.(started, registry);
      return {
        stop: async () => {
          stopMirroring();
          await agentRooms.idle();
          services.retention.erasers.unregister(eraser.channel);
          await registry.disconnectAll();
        },
      };
    },
  };
}
