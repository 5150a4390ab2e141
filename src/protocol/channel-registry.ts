/**
 * Holds the channel adapters, connects them at start and watches their
 * health on an interval (default 30 s), so /readyz and alerts can report it.
 */
import type { Logger } from '../logging.ts';
import type { AdapterHealth, IChannelAdapter } from './channel-adapter.ts';

export class ChannelRegistry {
  private readonly adapters = new Map<string, IChannelAdapter>();
  private readonly lastHealth = new Map<string, AdapterHealth>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly logger?: Logger) {}

  register(adapter: IChannelAdapter): void {
    if (this.adapters.has(adapter.name)) throw new Error(`a channel named "${adapter.name}" is already registered`);
    this.adapters.set(adapter.name, adapter);
  }

  getAdapter(name: string): IChannelAdapter | null {
    return this.adapters.get(name) ?? null;
  }

  listAdapters(): IChannelAdapter[] {
    return [...this.adapters.values()];
  }

  async healthAll(): Promise<Record<string, AdapterHealth>> {
    const entries = await Promise.all(
      this.listAdapters().map(async (a) => {
        let health: AdapterHealth;
        try {
          health = await a.health();
        } catch (err) {
          health = { status: 'disconnected', detail: (err as Error).message };
        }
        const before = this.lastHealth.get(a.name);
        if (before && before.status !== health.status) {
          this.logger?.warn({ channel: a.name, event: 'health.changed', from: before.status, to: health.status }, `${a.name} is ${health.status}`);
        }
        this.lastHealth.set(a.name, health);
        return [a.name, health] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async connectAll(intervalMs = 30_000): Promise<void> {
    for (const adapter of this.adapters.values()) {
      await adapter.connect();
      this.logger?.info({ channel: adapter.name, event: 'connected' }, `${adapter.name} connected`);
    }
    this.timer = setInterval(() => void this.healthAll(), intervalMs);
    this.timer.unref();
  }

  async disconnectAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const adapter of [...this.adapters.values()].reverse()) {
      await adapter.disconnect().catch((err: unknown) => this.logger?.error({ channel: adapter.name, event: 'disconnect.failed', err }, 'disconnect failed'));
    }
  }
}
