/** The job system as a MosaicPlugin: workers, schedules and /api/admin/jobs. */
import type { MosaicCore, MosaicPlugin } from '../main.ts';
import type { RouteGroup } from '../http/route-spec.ts';
import { jobsRoutes } from '../http/jobs-routes.ts';
import type { InjectedJobHandlers } from './builtin-jobs.ts';
import { createJobSystem, type JobRegistration, type JobSystem } from './job-system.ts';

export interface JobsPluginOptions {
  /** Handlers owned by other services; given the core so they can reach it. */
  handlers?: InjectedJobHandlers | ((core: MosaicCore) => InjectedJobHandlers);
  jobs?: JobRegistration[] | ((core: MosaicCore) => JobRegistration[]);
}

/** The part of the core the job system needs. */
export type JobsCore = Pick<MosaicCore, 'config' | 'logger' | 'database' | 'valkey'>;

/** Starts workers and schedules; returns the admin routes and the stop. */
export async function startJobs(
  core: JobsCore,
  handlers: InjectedJobHandlers = {},
  jobs: JobRegistration[] = [],
): Promise<{ system: JobSystem; routes: RouteGroup[]; stop(): Promise<void> }> {
  const system = createJobSystem({ config: core.config, logger: core.logger, db: core.database.db, valkey: core.valkey, handlers, jobs });
  try {
    await system.start();
  } catch (err) {
    await system.stop().catch(() => undefined);
    throw err;
  }
  return { system, routes: [jobsRoutes(system.admin)], stop: () => system.stop() };
}

export function jobsPlugin(options: JobsPluginOptions = {}): MosaicPlugin {
  return {
    name: 'jobs',
    async start(core) {
      const handlers = typeof options.handlers === 'function' ? options.handlers(core) : options.handlers;
      const jobs = typeof options.jobs === 'function' ? options.jobs(core) : options.jobs;
      const { routes, stop } = await startJobs(core, handlers, jobs);
      return { routes, stop };
    },
  };
}
