/**
 * The admin context a CLI process builds for itself when no server owns the
 * database: each part is opened when an operation first asks for it, and
 * everything is closed at the end.
 */
import type { MosaicConfig } from '../config/schema.ts';
import { openDatabase, type Database } from '../db/client.ts';
import type { DataDirOwner } from '../db/data-dir-lock.ts';
import { runMigrations } from '../db/migrate.ts';
import { AccountService } from '../identity/account-service.ts';
import { CredentialStore } from '../identity/credential-store.ts';
import { secretBoxFromConfig } from '../identity/secret-box.ts';
import { JobAdmin } from '../jobs/job-admin.ts';
import { createQueueRegistry } from '../jobs/job-system.ts';
import type { QueueRegistry } from '../jobs/queue-registry.ts';
import { AgentLogStore } from '../logs/agent-log-store.ts';
import { REPLY_JOB } from '../conversations/reply-job.ts';
import { CONVERSATION_ERASE_JOB } from '../retention/retention-jobs.ts';
import { directoryWithOverrides } from '../routing/catalogue-directory.ts';
import { configAvailability } from '../routing/config-availability.ts';
import { createRoutingService } from '../routing/routing-service.ts';
import type { AdminContext } from './operations.ts';
import { IDENTITY_CHANGED_JOB } from '../identity/identity-events.ts';
import { TEAM_CHANGED_JOB } from '../teams/team-events.ts';
import type { LinkChannel } from '../identity/link-channels.ts';
import { LinkChannels } from '../identity/link-channels.ts';
import { createLinking, type Linking } from '../identity/linking.ts';
import { enqueueJob } from '../jobs/queue-service.ts';
import { createLogger } from '../logging.ts';
import { ConversationStore, toConversation } from '../conversations/conversation-store.ts';
import { TeamService } from '../teams/team-service.ts';
import { TeamStore } from '../teams/team-store.ts';
import { connectValkey, type Redis } from '../valkey/client.ts';

export interface LocalContextOptions {
  config: MosaicConfig;
  /** What the lock file says holds the database meanwhile (`user create` …). */
  command: string;
  /** Told once when another command holds the embedded database and we wait for it. */
  onWait?(owner: DataDirOwner): void;
  /** An open database to use instead of opening one (tests); left open at the end. */
  database?: Database;
  /** The chat channels accounts can be linked to from here (the Matrix channel's, from the CLI extension). */
  linkChannels?: () => Promise<LinkChannel[]>;
}

/** Every job definition a server registers, so the CLI lists the same queues. */
export function cliQueueRegistry(config: MosaicConfig): QueueRegistry {
  return createQueueRegistry(config, [REPLY_JOB, IDENTITY_CHANGED_JOB, TEAM_CHANGED_JOB, CONVERSATION_ERASE_JOB]);
}

export async function withLocalAdminContext<T>(options: LocalContextOptions, fn: (ctx: AdminContext) => Promise<T>): Promise<T> {
  const { config } = options;
  let database = null as Promise<Database> | null;
  const given = options.database;
  let registry = null as QueueRegistry | null;
  let valkey = null as Promise<Redis> | null;
  let linking = null as Promise<Linking> | null;
  const openDb = (): Promise<Database> =>
    given ? Promise.resolve(given) : (database ??= (async () => {
      const opened = await openDatabase({
        url: config.database.url,
        dataDir: config.database.dataDir,
        poolSize: 2,
        owner: { role: 'command', command: options.command, waitMs: 30_000, ...(options.onWait ? { onWait: options.onWait } : {}) },
      });
      try {
        await runMigrations(opened);
      } catch (err) {
        await opened.close();
        throw err;
      }
      return opened;
    })());
  const closeable = async (): Promise<Database | null> => (database ? database.catch(() => null) : null);
  const ctx: AdminContext = {
    config,
    via: 'local',
    database: openDb,
    accounts: async () => new AccountService((await openDb()).db),
    credentials: async () => new CredentialStore((await openDb()).db, secretBoxFromConfig(config.secrets)),
    async jobs() {
      registry ??= cliQueueRegistry(config);
      return new JobAdmin(registry, { listForJob: async (queue, jobId) => new AgentLogStore((await openDb()).db).listForJob(queue, jobId) });
    },
    linking: () =>
      (linking ??= (async () => {
        const channels = new LinkChannels();
        for (const c of (await options.linkChannels?.()) ?? []) channels.register(c);
        const db = (await openDb()).db;
        const queues = (registry ??= cliQueueRegistry(config));
        return createLinking({
          config,
          db,
          valkey: await (valkey ??= connectValkey(config.valkey.url)),
          accounts: new AccountService(db),
          logger: createLogger(process.env.LOG_LEVEL ?? 'warn'),
          channels,
          // A running server's channel reacts (the bot's welcome) when it takes the job.
          publish: async (change) => void (await enqueueJob(queues, IDENTITY_CHANGED_JOB.name, change)),
        });
      })()),
    async teams() {
      const db = (await openDb()).db;
      const queues = (registry ??= cliQueueRegistry(config));
      const conversations = new ConversationStore(db);
      return new TeamService({
        teams: new TeamStore(db),
        users: new AccountService(db).users,
        conversations: {
          async share(actor, id, teamId) {
            const { conversation, previousTeamId } = await conversations.share(actor, id, teamId);
            return { conversation: toConversation(conversation, actor), previousTeamId };
          },
        },
        // A running server's channel follows the change (Space invites) when it takes the job.
        publish: async (change) => void (await enqueueJob(queues, TEAM_CHANGED_JOB.name, change)),
      });
    },
    async routing() {
      const db = (await openDb()).db;
      // Without a server there is no live health: an enabled provider counts as healthy.
      return createRoutingService({ db, routing: config.routing, directory: directoryWithOverrides(config), availability: configAvailability(config) });
    },
  };
  try {
    return await fn(ctx);
  } finally {
    await registry?.close();
    const client = await valkey?.catch(() => null);
    await client?.quit().catch(() => client.disconnect());
    const opened = await closeable();
    await opened?.close();
  }
}
