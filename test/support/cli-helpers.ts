/** CLI helpers over an open test database: the admin operations run in-process, as the CLI runs them without a server. */
import type { CliHelpers } from '../../src/cli.ts';
import type { MosaicConfig } from '../../src/config/schema.ts';
import type { Database } from '../../src/db/client.ts';
import { withLocalAdminContext } from '../../src/admin/local-context.ts';
import { runAdminOperation, type AdminContext } from '../../src/admin/operations.ts';

export function cliHelpers(config: MosaicConfig, database: Database, override: Partial<AdminContext> = {}): CliHelpers {
  return {
    config: async () => ({ config, source: null }),
    admin: (op, args) => withLocalAdminContext({ config, command: 'test', database }, (ctx) => runAdminOperation({ ...ctx, ...override }, op, args)),
  };
}
