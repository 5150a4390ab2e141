/**
 * The known job definitions and one BullMQ `Queue` per queue name, over one
 * shared connection. Both the worker side and the admin side use it.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { badRequest, MosaicError, serviceUnavailable } from '../errors.ts';
import { redactUrl } from '../logging.ts';
import { CAPPED_BACKOFF } from './backoff.ts';
import type { BackoffPolicy, JobDefinition } from './job-definition.ts';
import { assertQueueName, bullPrefix, bullQueueName } from './queue-names.ts';

export interface JobDefaults {
  attempts: number;
  backoff: BackoffPolicy;
  keepCompleted: number;
  keepFailed: number;
}

export interface QueueRegistryOptions {
  valkeyUrl: string;
  keyPrefix: string;
  defaults: JobDefaults;
}

export class QueueRegistry {
  readonly prefix: string;
  readonly defaults: JobDefaults;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly queues = new Map<string, Queue>();
  private connecting: Promise<Redis> | null = null;

  constructor(private readonly options: QueueRegistryOptions) {
    this.prefix = bullPrefix(options.keyPrefix);
    this.defaults = options.defaults;
  }

  add<P>(definition: JobDefinition<P>): void {
    assertQueueName(definition.queue);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) throw new Error(`job name "${definition.name}" must be lowercase kebab-case`);
    if (this.definitions.has(definition.name)) throw new Error(`job "${definition.name}" is defined twice`);
    this.definitions.set(definition.name, definition as JobDefinition);
  }

  definition(name: string): JobDefinition | undefined {
    return this.definitions.get(name);
  }

  allDefinitions(): JobDefinition[] {
    return [...this.definitions.values()];
  }

  definitionsOn(queue: string): JobDefinition[] {
    return this.allDefinitions().filter((d) => d.queue === queue);
  }

  queueNames(): string[] {
    return [...new Set(this.allDefinitions().map((d) => d.queue))].sort();
  }

  /** The queue, or a 400 naming the known queues. */
  /**
   * A queue named in a path is a resource: unknown is 404. Named as a
   * filter in a query string it is a bad value: 400.
   */
  requireQueueName(name: string, as: 'resource' | 'filter' = 'resource'): string {
    const names = this.queueNames();
    if (names.includes(name)) return name;
    const message = `unknown queue "${name.slice(0, 100)}"; queues: ${names.join(', ')}`;
    throw as === 'resource' ? new MosaicError('not_found', message, { httpStatus: 404, details: { allowed: names } }) : badRequest(message, { allowed: names });
  }

  backoffOf(definition: JobDefinition | undefined): BackoffPolicy {
    return { ...this.defaults.backoff, ...(definition?.backoff ?? {}) };
  }

  /** Attempts, backoff and retention every job of this definition is added with. */
  jobOptions(definition: JobDefinition): JobsOptions {
    return {
      attempts: definition.attempts ?? this.defaults.attempts,
      backoff: { type: CAPPED_BACKOFF, delay: this.backoffOf(definition).baseMs },
      removeOnComplete: { count: this.defaults.keepCompleted },
      removeOnFail: { count: this.defaults.keepFailed },
    };
  }

  /** One connection for every Queue; BullMQ needs `maxRetriesPerRequest: null`. */
  redis(): Promise<Redis> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  private async connect(): Promise<Redis> {
    const client = new Redis(this.options.valkeyUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      client.disconnect();
      this.connecting = null;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw serviceUnavailable(`Valkey at ${redactUrl(this.options.valkeyUrl)} is not reachable (${code}): start Valkey or Redis, or set VALKEY_URL`, err);
    }
  }

  async queue(name: string): Promise<Queue> {
    const connection = await this.redis();
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(bullQueueName(name), { connection, prefix: this.prefix });
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    const connecting = this.connecting;
    this.connecting = null;
    if (connecting) {
      const client = await connecting.catch(() => null);
      await client?.quit().catch(() => client.disconnect());
    }
  }
}
