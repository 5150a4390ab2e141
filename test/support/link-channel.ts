/** A chat channel like Matrix's for tests that run without the appservice: ids `@x:y`, `!link <token>`. */
import type { LinkChannel } from '../../src/identity/link-channels.ts';

export const testLinkChannel: LinkChannel = {
  name: 'matrix',
  label: 'Matrix',
  idLabel: 'Matrix user id',
  problemWithUserId: (id) => (/^@[a-z0-9._-]+:[a-z0-9.-]+$/.test(id) ? null : 'must look like @alice:example.org'),
  redeem: (token) => ({ line: `!link ${token}`, where: 'in a DM' }),
};
