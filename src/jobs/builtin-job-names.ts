/**
 * The built-in jobs' names and queues, apart from their definitions: the
 * CLI names a job it asks a running server to run without loading what the
 * job's handler needs (the database driver among it).
 */
export const BUILTIN_JOBS = {
  summarization: { name: 'summarization', queue: 'mosaic:summarization' },
  logTiers: { name: 'log-tiers', queue: 'mosaic:log-tiers' },
  sessionGc: { name: 'session-gc', queue: 'mosaic:session-gc' },
  healthProbe: { name: 'health-probe', queue: 'mosaic:health-probes' },
  retentionPurge: { name: 'retention-purge', queue: 'mosaic:retention-purge' },
} as const;
