/** The job system as a MosaicPlugin: workers, schedules and /api/admin/jobs. */
import type { MosaicCore, MosaicPlugin } from '../main.ts';
import { jobsRouter } from '../http/jobs-routes.ts';
import type { InjectedJobHandlers } from './builtin-jobs.ts';
import { createJobSystem, type JobRegistration } from './job-system.ts';

export interface JobsPluginOptions {
  /** Handlers owned by other services; given the core so they can reach it. */
  handlers?: InjectedJobHandlers | ((core: MosaicCore) => InjectedJobHandlers);
  jobs?: JobRegistration[] | ((core: MosaicCore) => JobRegistration[]);
}

export function jobsPlugin(options: JobsPluginOptions = {}): MosaicPlugin {
  return {
    name: 'jobs',
    async start(core) {
      const system = createJobSystem({
        config: core.config,
        logger: core.logger,
        db: core.database.db,
        valkey: core.valkey,
        handlers: typeof options.handlers === 'function' ? options.handlers(core) : (options.handlers ?? {}),
        jobs: typeof options.jobs === 'function' ? options.jobs(core) : (options.jobs ?? []),
      });
      try {
        await system.start();
      } catch (err) {
        await system.stop().catch(() => undefined);
        throw err;
      }
      return { routes: [{ path: '/admin/jobs', router: jobsRouter(system.admin) }], stop: () => system.stop() };
    },
  };
}
