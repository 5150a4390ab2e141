/**
 * What the Matrix channel does when a team changes (a TeamListener, run by
 * the `team-changed` job) and when a person is linked or provisioned (an
 * IdentityListener beside the welcome): Spaces follow. Each step reads the
 * current state, so a retried or late job does the right thing.
 */
import type { IdentityListener } from '../../src/identity/identity-events.ts';
import type { TeamListener } from '../../src/teams/team-events.ts';
import type { Logger } from '../../src/logging.ts';
import { CHANNEL } from '../identity/identities.ts';
import type { SpaceManager } from './space-manager.ts';

export function teamSpaceReactions(spaces: SpaceManager, logger: Logger): TeamListener {
  return async (c) => {
    switch (c.change) {
      case 'team-created':
        await spaces.ensureTeamSpace(c.teamId);
        break;
      case 'member-added':
        if (c.userId) await spaces.memberAdded(c.teamId, c.userId);
        break;
      case 'member-removed':
        if (c.userId) await spaces.memberRemoved(c.teamId, c.userId);
        break;
      case 'shared':
        if (c.conversationId) await spaces.shared(c.conversationId, c.previousTeamId ?? null);
        break;
      case 'unshared':
        if (c.conversationId) await spaces.unshared(c.conversationId, c.teamId);
        break;
      case 'team-deleted':
        await spaces.teamDeleted(c.teamId, c.memberIds ?? [], c.conversationIds ?? []);
        break;
    }
    logger.info({ channel: CHANNEL, event: 'space.team_change', change: c.change, teamId: c.teamId }, 'Spaces follow a team change');
  };
}

/** A linked (or auto-provisioned) person gets their personal Space. */
export function personalSpaceReactions(spaces: SpaceManager): IdentityListener {
  return {
    async linked(c) {
      await spaces.ensurePersonalSpace(c.userId);
    },
  };
}
