/**
 * The one configuration schema of Mosaic. Types, validation errors, the
 * environment overrides and `config.example.yaml` all derive from it.
 */
import { z } from 'zod';

export const PROVIDER_NAMES = ['anthropic', 'openai', 'openrouter', 'zai', 'ollama'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

const url = (what: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol.length > 1 && u.host.length > 0;
    } catch {
      return false;
    }
  }, { message: `expected ${what}` });

const httpUrl = url('an http(s) URL such as http://127.0.0.1:8008');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.stringbool()]);
/** Days to keep messages; null keeps them forever. */
const retentionDays = (days: number) => z.union([z.coerce.number().int().positive().max(36_500), z.null()]).default(days);
const cron = z.string().regex(/^(\S+\s+){4}\S+(\s+\S+)?$/, 'expected a cron expression with 5 or 6 fields, e.g. "0 3 * * *"');

const cloudProvider = (defaults: { baseUrl: string; env: string }) =>
  z
    .object({
      enabled: bool.default(true).describe('Use this provider when a key is configured.'),
      apiKey: z.string().optional().describe(`System API key (env ${defaults.env}_API_KEY). Users may add their own keys too.`),
      apiKeyFile: z.string().optional().describe('Read the API key from this file instead (Docker secrets).'),
      baseUrl: httpUrl.default(defaults.baseUrl).describe(`API base URL (env ${defaults.env}_BASE_URL); point it at a proxy or a local server.`),
    })
    .strict();

export const configSchema = z
  .object({
    http: z
      .object({
        host: z.string().default('127.0.0.1').describe('Interface the REST/WebSocket API listens on (env HTTP_HOST).'),
        port: port.default(3000).describe('Port of the REST/WebSocket API (env PORT).'),
        bodyLimit: z.string().regex(/^\d+(b|kb|mb)$/i, 'expected a size such as "1mb"').default('1mb').describe('Largest JSON body accepted.'),
        publicUrl: httpUrl.optional().describe('URL people use to reach Mosaic (links in chat messages, such as the browser link page /link/matrix). Without it the bot offers no browser link.'),
        rateLimitPerMinute: positiveInt.default(600).describe('Requests per minute per client on /api.'),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: bool.default(true).describe('Serve Prometheus metrics (GET /metrics) on a listener of their own, never on the API port (env METRICS_ENABLED).'),
        host: z.string().default('127.0.0.1').describe('Interface of the metrics listener (env METRICS_HOST). It is not authenticated: keep it on loopback or a network only Prometheus reaches.'),
        port: port.default(9464).describe('Port of the metrics listener (env METRICS_PORT).'),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: url('a postgres:// URL').refine((v) => /^postgres(ql)?:/.test(v), 'expected a postgres:// URL').optional().describe('PostgreSQL connection URL (env DATABASE_URL). Without it Mosaic uses an embedded PGlite database.'),
        dataDir: z.string().default('./data').describe('Where the embedded PGlite database lives (env MOSAIC_DATA_DIR).'),
        poolSize: positiveInt.default(10).describe('PostgreSQL connection pool size.'),
      })
      .strict()
      .prefault({}),
    valkey: z
      .object({
        url: url('a redis:// or rediss:// URL').refine((v) => /^rediss?:/.test(v), 'expected a redis:// URL').default('redis://127.0.0.1:6379').describe('Valkey/Redis URL (env VALKEY_URL or REDIS_URL).'),
        keyPrefix: z.string().regex(/^[a-z0-9_:-]+$/i, 'expected letters, digits, _, - or :').default('mosaic').describe('Prefix of every key Mosaic writes (env VALKEY_PREFIX); several installs can share one server.'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (env LOG_LEVEL).'),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        key: z.string().optional().describe('Key that encrypts stored provider credentials, 32+ characters (env MOSAIC_SECRET_KEY).'),
        keyFile: z.string().optional().describe('Read the secret key from this file instead.'),
        keyId: z.string().regex(/^[a-z0-9_-]{1,32}$/i).default('k1').describe('Name of the current key, stored beside each ciphertext (env MOSAIC_SECRET_KEY_ID).'),
        previousKeys: z
          .array(z.object({ id: z.string(), key: z.string() }).strict())
          .default([])
          .describe('Retired keys still accepted for decryption until `mosaic secrets rotate` re-encrypts (env MOSAIC_SECRET_KEYS_PREVIOUS as id:key,id:key).'),
      })
      .strict()
      .prefault({}),
    providers: z
      .object({
        anthropic: cloudProvider({ baseUrl: 'https://api.anthropic.com', env: 'ANTHROPIC' }).prefault({}),
        openai: cloudProvider({ baseUrl: 'https://api.openai.com/v1', env: 'OPENAI' }).prefault({}),
        openrouter: cloudProvider({ baseUrl: 'https://openrouter.ai/api/v1', env: 'OPENROUTER' }).prefault({}),
        zai: cloudProvider({ baseUrl: 'https://api.z.ai/api/paas/v4', env: 'ZAI' }).prefault({}),
        ollama: z
          .object({
            enabled: bool.default(true).describe('Use a local Ollama server.'),
            host: httpUrl.default('http://127.0.0.1:11434').describe('Ollama server URL (env OLLAMA_HOST).'),
          })
          .strict()
          .prefault({}),
        userBaseUrls: z
          .object({
            enabled: bool.default(false).describe('Let users give a base URL with their own provider key (env USER_BASE_URLS_ENABLED). Mosaic then calls that address on their behalf.'),
            allowPrivateAddresses: bool
              .default(false)
              .describe('Also allow user base URLs that resolve to loopback, link-local (cloud metadata), private or other internal addresses (env USER_BASE_URLS_ALLOW_PRIVATE). Checked when stored and on every connection.'),
          })
          .strict()
          .prefault({}),
        requestTimeoutMs: positiveInt.default(120_000).describe('Longest a whole model request may take.'),
        streamIdleTimeoutMs: positiveInt.default(30_000).describe('A stream that sends nothing for this long is cut and reported.'),
        maxRetries: z.coerce.number().int().min(0).max(10).default(2).describe('Retries of transient provider errors inside an adapter.'),
      })
      .strict()
      .prefault({}),
    models: z
      .array(
        z
          .object({
            provider: z.enum(PROVIDER_NAMES),
            id: z.string().min(1),
            displayName: z.string().optional(),
            tier: z.enum(['economy', 'standard', 'premium']).optional(),
            contextWindow: positiveInt.optional(),
            maxOutput: positiveInt.optional(),
            tools: bool.optional(),
            vision: bool.optional(),
            embedding: bool.optional(),
            inputPricePerMTok: z.coerce.number().min(0).optional(),
            outputPricePerMTok: z.coerce.number().min(0).optional(),
            retiresAt: z
              .string()
              .regex(/^\d{4}-\d{2}-\d{2}/, 'an ISO date such as 2027-01-22')
              .refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO date such as 2027-01-22')
              .optional()
              .describe('From this date routing never picks the model (the provider retires it).'),
          })
          .strict(),
      )
      .default([])
      .describe('Models to add to the capability matrix or to correct in it (e.g. an Ollama model and the context window its num_ctx gives).'),
    health: z
      .object({
        probeIntervalSeconds: positiveInt.default(60).describe('How often each provider is probed (a cheap model listing, never a billed completion).'),
        failureThreshold: positiveInt.default(3).describe('Consecutive failures that mark a provider down.'),
        cooldownSeconds: z.array(positiveInt).min(1).default([60, 300, 1500, 3600]).describe('How long a down provider rests before it is tried again; each repeat takes the next step.'),
      })
      .strict()
      .prefault({}),
    routing: z
      .object({
        fallbackChain: z
          .array(z.object({ provider: z.enum(PROVIDER_NAMES), model: z.string().min(1) }).strict())
          .default([
            { provider: 'anthropic', model: 'claude-sonnet-5-5' },
            { provider: 'openai', model: 'gpt-6-luna' },
            { provider: 'ollama', model: 'llama3.2' },
          ])
          .describe('Tried in order when a rule and its own fallbacks have no usable provider.'),
        classifierModel: z
          .object({
            enabled: bool.default(false).describe('Ask a cheap model when the deterministic classifier is unsure.'),
            provider: z.enum(PROVIDER_NAMES).default('anthropic'),
            model: z.string().default('claude-haiku-5-5'),
            timeoutMs: positiveInt.default(1500).describe('Routing never waits longer than this for the classifier model.'),
            belowConfidence: z.coerce.number().min(0).max(1).default(0.5),
          })
          .strict()
          .prefault({}),
        budgets: z
          .object({
            defaultMonthlyUsd: z.coerce
              .number()
              .min(0, 'a budget cannot be negative')
              .optional()
              .describe('Monthly budget in USD (calendar month, UTC) for users without their own (PATCH /api/me {"monthlyBudgetUsd": …}); unset: no budget. 0 keeps everyone on free local models.'),
            economyAt: z.coerce
              .number()
              .gt(0)
              .max(1)
              .default(0.8)
              .describe('Share of the monthly budget spent from which routing only picks economy-tier or free (local) models; at 100 % only free models answer.'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    embeddings: z
      .object({
        provider: z.enum(PROVIDER_NAMES).default('ollama').describe('Provider that computes memory embeddings.'),
        model: z.string().default('nomic-embed-text').describe('Embedding model.'),
      })
      .strict()
      .prefault({}),
    conversations: z
      .object({
        summarizeAt: z.coerce.number().gt(0).lt(1).default(0.8).describe('Share of the model context window at which older messages are summarised.'),
        keepRecentMessages: positiveInt.default(6).describe('Newest messages always sent verbatim, never summarised.'),
        maxToolSteps: positiveInt.default(8).describe('Tool-call rounds one answer may take.'),
        deltaIntervalMs: z.coerce.number().int().min(0).default(50).describe('Streamed text and thinking are published to live surfaces at most this often (0: every chunk as it comes).'),
        replyConcurrency: positiveInt
          .optional()
          .describe('Answers one process writes at once (reply jobs, each for a different conversation). Default: 16 per CPU core, and at most 4 per PostgreSQL connection (database.poolSize); an answer mostly waits on its model.'),
        recoveryIntervalMs: z.coerce.number().int().min(0).default(5000).describe('How often one replica looks for stored messages without an answer whose reply job was lost, stuck with a dead process, or ended without answering, and queues them again (0: only at start).'),
        recoveryWindowHours: positiveInt.default(6).describe('Messages older than this are not recovered (send them again).'),
        maxRequeues: positiveInt.default(3).describe('Times recovery may queue one message again; after that it gets a notice saying what went wrong.'),
      })
      .strict()
      .prefault({}),
    agents: z
      .object({
        delegation: z
          .object({
            maxDepth: positiveInt.max(10).default(3).describe('Longest chain of delegations from the agent the person talks to (A → B → C is depth 2).'),
            maxTurnsPerExchange: positiveInt.default(10).describe('Delegations one answer may make in all, at every depth.'),
            pairLimit: positiveInt.default(20).describe('Delegations one agent may make to one other agent for one person per window; past it they are refused until the window ends.'),
            pairWindowSeconds: positiveInt.default(60).describe('The window of pairLimit, in seconds.'),
            maxSteps: positiveInt.default(6).describe('Tool-call rounds the delegated agent may take for one task.'),
            queueAttempts: positiveInt.default(6).describe('A task whose agent cannot run now (its providers down) is queued and tried this many times, with backoff, before the conversation gets a notice that it expired.'),
            queueBackoffMs: positiveInt.default(5000).describe('First wait before a queued task is tried again; it doubles each attempt (at most 5 minutes).'),
          })
          .strict()
          .prefault({})
          .describe('Agents handing work to each other (`delegatesTo` in an agent\'s config); see docs/agents.md.'),
      })
      .strict()
      .prefault({}),
    live: z
      .object({
        maxSocketsPerUser: positiveInt.default(20).describe('Open sockets and event streams one user may have, across every replica.'),
        maxSubscriptionsPerSocket: positiveInt.default(50).describe('Conversations one socket may follow at once.'),
        sendBufferBytes: positiveInt.default(1_048_576).describe('Bytes queued for one socket or event stream before it is cut as a slow consumer.'),
        maxFrameBytes: positiveInt.default(1_048_576).describe('Largest frame a client may send; a larger one closes the socket (1009).'),
        framesPerSecond: positiveInt.default(20).describe('Frames per second one socket may send (bursts of twice this); past it frames are refused, and a flood closes the socket.'),
        heartbeatMs: positiveInt.default(30_000).describe('Sockets are pinged this often; one that has not answered the previous ping is dropped. Event streams get a comment line as often.'),
        authRecheckMs: positiveInt.default(5000).describe('How often open sockets and event streams have their token checked again; a revoked token or a disabled or deleted user is cut within this time.'),
        ticketTtlSeconds: positiveInt.max(300).default(30).describe('Lifetime of a single-use socket ticket (POST /api/socket/ticket).'),
        maxReplay: positiveInt.default(1000).describe('Most messages a subscribe replays; a client further behind loads history over REST first.'),
      })
      .strict()
      .prefault({})
      .describe('Live surfaces: the WebSocket at /api/socket and the event streams at /api/conversations/:id/events.'),
    web: z
      .object({
        enabled: bool.default(true).describe('Serve the web client at / (when its build, clients/web/dist, is present) and accept its session cookies (env WEB_ENABLED).'),
        sessionHours: positiveInt.max(24 * 90).default(12).describe('Lifetime of a web sign-in; the session cookie and its server-side record end then, whatever happens in between.'),
        signInsPerMinute: positiveInt.default(10).describe('Password sign-ins (the web client and POST /api/auth/login) one client address may attempt per minute, across replicas; the per-username lockout (linking.maxFailedAttempts) applies as well.'),
      })
      .strict()
      .prefault({})
      .describe('The web client: its static page and the session cookies it signs in with.'),
    matrix: z
      .object({
        enabled: bool.default(false).describe('Run the Matrix appservice (env MATRIX_ENABLED).'),
        homeserverUrl: httpUrl.default('http://127.0.0.1:6167').describe('Client-Server API URL of the homeserver (env MATRIX_HOMESERVER_URL).'),
        serverName: z.string().regex(/^[a-z0-9.:-]+$/i, 'expected a server name such as example.org').default('localhost').describe('The homeserver name in user ids (env MATRIX_SERVER_NAME).'),
        registrationFile: z.string().default('./registration/mosaic-registration.yaml').describe('Appservice registration file (env MATRIX_REGISTRATION_FILE).'),
        host: z.string().default('127.0.0.1').describe('Interface the appservice listens on (env APPSERVICE_HOST).'),
        port: port.default(9000).describe('Port the homeserver pushes transactions to (env APPSERVICE_PORT).'),
        appserviceUrl: httpUrl.optional().describe('URL the homeserver uses to reach the appservice; written into the registration.'),
        unlinkedUsers: z.enum(['refuse', 'provision']).default('refuse').describe('What Matrix users without a Mosaic account get.'),
        autoProvisionDomains: z.array(z.string()).default([]).describe('Homeserver domains whose users get an account automatically (env MATRIX_AUTO_PROVISION_DOMAINS, comma-separated).'),
        editIntervalMs: positiveInt.default(1000).describe('Streamed answers are edited at most once per this interval.'),
        typingTimeoutMs: positiveInt.default(30_000).describe('How long one typing notice lasts; it is renewed while an answer is being written (long thinking, tool calls), so the room never looks idle.'),
        maxBodyBytes: positiveInt.default(5_000_000).describe('Largest transaction body accepted from the homeserver.'),
        intakeParallelism: positiveInt.max(256).default(8).describe('Rooms whose pushed events are processed at once. Order is kept within a room and within one person\'s events across rooms; a slow room never holds up the others.'),
        reconnectMaxMs: positiveInt.default(30_000).describe('While the homeserver cannot be reached (e.g. down at start), it is tried again after 1 s, doubling up to this wait; Mosaic runs meanwhile.'),
        synapseAdminToken: z.string().min(1).optional().describe('Access token of a Synapse server admin. With it, the retention purge also asks Synapse to purge the room history it has redacted (POST /_synapse/admin/v1/purge_history); without it, redaction alone (every homeserver; Conduit has no purge API). Env MATRIX_SYNAPSE_ADMIN_TOKEN.'),
        removeFromRoomsOnUnlink: bool.default(false).describe("When a Matrix account is unlinked, the bot also removes (kicks) it from the rooms of that Mosaic account's conversations."),
      })
      .strict()
      .prefault({}),
    linking: z
      .object({
        maxFailedAttempts: positiveInt.default(5).describe('Failed attempts (`!link` tokens; password sign-ins on the link page, `POST /api/auth/login` and the web client) one chat account, one token or one username may make before it is locked out.'),
        lockoutMinutes: positiveInt.default(15).describe('How long a lockout lasts; failures are counted over the same window.'),
      })
      .strict()
      .prefault({})
      .describe('Linking chat accounts (Matrix) to Mosaic accounts: tokens, the browser link page, lockouts.'),
    retention: z
      .object({
        defaults: z
          .object({
            personal: retentionDays(365).describe('Days a personal conversation\'s messages are kept (null: forever).'),
            team: retentionDays(730).describe('Days the messages of a conversation shared with a team are kept (null: forever).'),
            agent: retentionDays(90).describe('Days agent-room messages (agents talking to agents) are kept (null: forever).'),
            system: retentionDays(1825).describe('Days system and audit rooms are kept (null: forever).'),
          })
          .strict()
          .prefault({})
          .describe('Retention per room kind; admins override these (and single conversations) with PUT /api/admin/retention or `mosaic retention`.'),
        batchSize: positiveInt.max(1000).default(200).describe('Messages the retention purge removes per step; each step is committed on both sides before the next.'),
      })
      .strict()
      .prefault({})
      .describe('How long messages are kept; the retention-purge job removes older ones from the database and the homeserver together. Memories are not affected.'),
    jobs: z
      .object({
        timezone: z.string().default('UTC').describe('Time zone of every cron schedule.'),
        shutdownTimeoutMs: positiveInt.default(30_000).describe('On SIGTERM, how long active jobs may run before connections close.'),
        attempts: positiveInt.default(5).describe('Default attempts per job.'),
        backoffBaseMs: positiveInt.default(5000).describe('First retry delay; it doubles each attempt.'),
        backoffMaxMs: positiveInt.default(60_000).describe('Longest retry delay.'),
        lockDurationMs: positiveInt.default(30_000).describe('How long a worker holds a job without renewing its lock; a job whose process died is recovered after this.'),
        livenessTtlMs: positiveInt.min(2000).default(15_000).describe('Each process renews a liveness key in Valkey; one that stopped renewing it this long ago (or, on the same host, whose pid is gone) is dead, and the answers it held are taken over at once.'),
        stalledIntervalMs: positiveInt.default(30_000).describe('How often workers look for jobs whose process died (stalled jobs) and put them back in the queue.'),
        keepCompleted: z.coerce.number().int().min(0).default(1000).describe('Completed jobs kept per queue for the admin API.'),
        keepFailed: z.coerce.number().int().min(0).default(5000).describe('Failed jobs kept per queue for inspection and retry.'),
        sessionGc: z
          .object({
            idleMinutes: positiveInt.default(1440).describe('An active session with no activity for this long is ended.'),
            ephemeralGraceSeconds: positiveInt.default(86_400).describe('A key under <prefix>:ephemeral: found without a TTL (its writer died before setting one) is given this TTL, so it cannot live forever.'),
          })
          .strict()
          .prefault({})
          .describe('Session garbage collection.'),
        schedules: z
          .object({
            summarization: cron.default('0 */6 * * *'),
            logTiers: cron.default('0 3 * * *'),
            sessionGc: cron.default('0 4 * * *'),
            retentionPurge: cron.default('0 5 * * *'),
          })
          .strict()
          .prefault({})
          .describe('Cron schedules (env JOBS_CRON_<NAME>, e.g. JOBS_CRON_SESSION_GC).'),
        logTiers: z
          .object({
            warmAfterDays: positiveInt.default(7),
            coldAfterDays: positiveInt.default(30),
            deleteAfterDays: positiveInt.default(90),
          })
          .strict()
          .prefault({})
          .describe('Agent log tiers by age: hot → warm → cold → deleted.'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type MosaicConfig = z.infer<typeof configSchema>;
export type MosaicConfigInput = z.input<typeof configSchema>;

/**
 * Environment variables that override config keys. `list` values are
 * comma-separated; `pairs` are `id:value,id:value`.
 */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string; kind?: 'list' | 'pairs'; secret?: boolean }> = [
  { env: 'PORT', path: 'http.port' },
  { env: 'HTTP_HOST', path: 'http.host' },
  { env: 'PUBLIC_URL', path: 'http.publicUrl' },
  { env: 'METRICS_ENABLED', path: 'metrics.enabled' },
  { env: 'WEB_ENABLED', path: 'web.enabled' },
  { env: 'METRICS_HOST', path: 'metrics.host' },
  { env: 'METRICS_PORT', path: 'metrics.port' },
  { env: 'DATABASE_URL', path: 'database.url', secret: true },
  { env: 'MOSAIC_DATA_DIR', path: 'database.dataDir' },
  { env: 'REDIS_URL', path: 'valkey.url', secret: true },
  { env: 'VALKEY_URL', path: 'valkey.url', secret: true },
  { env: 'VALKEY_PREFIX', path: 'valkey.keyPrefix' },
  { env: 'LOG_LEVEL', path: 'log.level' },
  { env: 'MOSAIC_SECRET_KEY', path: 'secrets.key', secret: true },
  { env: 'MOSAIC_SECRET_KEY_ID', path: 'secrets.keyId' },
  { env: 'MOSAIC_SECRET_KEYS_PREVIOUS', path: 'secrets.previousKeys', kind: 'pairs', secret: true },
  { env: 'ANTHROPIC_API_KEY', path: 'providers.anthropic.apiKey', secret: true },
  { env: 'ANTHROPIC_BASE_URL', path: 'providers.anthropic.baseUrl' },
  { env: 'OPENAI_API_KEY', path: 'providers.openai.apiKey', secret: true },
  { env: 'OPENAI_BASE_URL', path: 'providers.openai.baseUrl' },
  { env: 'OPENROUTER_API_KEY', path: 'providers.openrouter.apiKey', secret: true },
  { env: 'OPENROUTER_BASE_URL', path: 'providers.openrouter.baseUrl' },
  { env: 'ZAI_API_KEY', path: 'providers.zai.apiKey', secret: true },
  { env: 'ZAI_BASE_URL', path: 'providers.zai.baseUrl' },
  { env: 'OLLAMA_HOST', path: 'providers.ollama.host' },
  { env: 'USER_BASE_URLS_ENABLED', path: 'providers.userBaseUrls.enabled' },
  { env: 'USER_BASE_URLS_ALLOW_PRIVATE', path: 'providers.userBaseUrls.allowPrivateAddresses' },
  { env: 'MATRIX_ENABLED', path: 'matrix.enabled' },
  { env: 'MATRIX_HOMESERVER_URL', path: 'matrix.homeserverUrl' },
  { env: 'MATRIX_SERVER_NAME', path: 'matrix.serverName' },
  { env: 'MATRIX_REGISTRATION_FILE', path: 'matrix.registrationFile' },
  { env: 'APPSERVICE_HOST', path: 'matrix.host' },
  { env: 'APPSERVICE_PORT', path: 'matrix.port' },
  { env: 'APPSERVICE_URL', path: 'matrix.appserviceUrl' },
  { env: 'MATRIX_AUTO_PROVISION_DOMAINS', path: 'matrix.autoProvisionDomains', kind: 'list' },
  { env: 'JOBS_TIMEZONE', path: 'jobs.timezone' },
  { env: 'JOBS_CRON_SUMMARIZATION', path: 'jobs.schedules.summarization' },
  { env: 'JOBS_CRON_LOG_TIERS', path: 'jobs.schedules.logTiers' },
  { env: 'JOBS_CRON_SESSION_GC', path: 'jobs.schedules.sessionGc' },
  { env: 'JOBS_CRON_RETENTION_PURGE', path: 'jobs.schedules.retentionPurge' },
  { env: 'MATRIX_SYNAPSE_ADMIN_TOKEN', path: 'matrix.synapseAdminToken', secret: true },
  { env: 'HEALTH_PROBE_INTERVAL_SECONDS', path: 'health.probeIntervalSeconds' },
];

/** Config keys whose `<key>File` sibling names a file holding the value. */
export const FILE_SECRETS = ['secrets.key', 'matrix.synapseAdminToken', ...PROVIDER_NAMES.filter((p) => p !== 'ollama').map((p) => `providers.${p}.apiKey`)];

/** Values never printed: they are secrets or may embed credentials. */
export function isSecretPath(path: string): boolean {
  return /(key|keys|token|password|secret)$/i.test(path) || path === 'database.url' || path === 'valkey.url';
}
