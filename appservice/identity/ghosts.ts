/**
 * Agents as Matrix users: `@mosaic_agent_<agentId>:<server>`, registered
 * lazily through the appservice (they have no password and cannot log in),
 * with the agent's display name and avatar.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../../src/db/client.ts';
import { agentConfigs } from '../../src/db/schema.ts';
import type { Logger } from '../../src/logging.ts';
import type { MatrixClient } from '../transport/matrix-client.ts';
import { BOT_LOCALPART, GHOST_PREFIX } from '../transport/registration.ts';

export type AgentRow = typeof agentConfigs.$inferSelect;

const AGENT_LOCALPART = /^mosaic_agent_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export class Ghosts {
  /** Profiles already set by this process (registration is idempotent anyway). */
  private readonly ready = new Map<string, string>();

  constructor(
    private readonly client: MatrixClient,
    private readonly db: Db,
    readonly serverName: string,
    private readonly logger: Logger,
  ) {}

  get botUserId(): string {
    return `@${BOT_LOCALPART}:${this.serverName}`;
  }

  userIdFor(agentId: string): string {
    return `@mosaic_agent_${agentId}:${this.serverName}`;
  }

  /** The agent id of a ghost's user id, or null. */
  agentIdOf(userId: string): string | null {
    const [local, server] = splitUserId(userId);
    if (server !== this.serverName) return null;
    return AGENT_LOCALPART.exec(local)?.[1] ?? null;
  }

  /** The bot or any user in our namespace: never answered. */
  isOurs(userId: string): boolean {
    const [local, server] = splitUserId(userId);
    return server === this.serverName && (local === BOT_LOCALPART || local.startsWith(GHOST_PREFIX));
  }

  async agent(agentId: string): Promise<AgentRow | null> {
    const [row] = await this.db.select().from(agentConfigs).where(eq(agentConfigs.id, agentId)).limit(1);
    return row ?? null;
  }

  /** Whether a user id in our namespace stands for something that exists (the homeserver's user query). */
  async exists(userId: string): Promise<boolean> {
    const agentId = this.agentIdOf(userId);
    return agentId !== null && (await this.agent(agentId)) !== null;
  }

  /**
   * Registers the ghost and nothing more. For the homeserver's user query,
   * which does not say who is asking: a private agent's name and avatar are
   * set only once its owner invites it (`ensure`).
   */
  async register(agent: AgentRow): Promise<string> {
    const userId = this.userIdFor(agent.id);
    await this.client.registerUser(userId.slice(1, userId.indexOf(':')));
    return userId;
  }

  /** Registers the agent's ghost if needed and keeps its profile in step with the agent. */
  async ensure(agent: AgentRow): Promise<string> {
    const userId = this.userIdFor(agent.id);
    const fingerprint = `${agent.displayName}\u0000${agent.avatarUrl ?? ''}`;
    if (this.ready.get(userId) === fingerprint) return userId;
    await this.client.registerUser(userId.slice(1, userId.indexOf(':')));
    const profile = await this.client.getProfile(userId).catch(() => null);
    if (profile?.displayname !== agent.displayName) await this.client.setDisplayName(userId, agent.displayName);
    // Only mxc avatars can be set directly; an http avatar would need an upload first.
    if (agent.avatarUrl?.startsWith('mxc://') && profile?.avatar_url !== agent.avatarUrl) await this.client.setAvatarUrl(userId, agent.avatarUrl);
    this.ready.set(userId, fingerprint);
    this.logger.debug({ channel: 'matrix', event: 'ghost.ready', userId, agent: agent.name }, 'ghost ready');
    return userId;
  }

  async ensureById(agentId: string): Promise<string | null> {
    const agent = await this.agent(agentId);
    return agent ? this.ensure(agent) : null;
  }
}

export function splitUserId(userId: string): [string, string] {
  const i = userId.indexOf(':');
  return i < 0 ? [userId.slice(1), ''] : [userId.slice(1, i), userId.slice(i + 1)];
}
