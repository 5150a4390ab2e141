// `node --import ./test/support/record-imports.mjs …`: writes every module
// URL the process resolves to $MOSAIC_IMPORT_LOG, so a test can tell what a
// command loaded (deterministic, unlike its timing).
import { register } from 'node:module';

if (process.env.MOSAIC_IMPORT_LOG) register('./record-imports-hooks.mjs', import.meta.url, { data: { log: process.env.MOSAIC_IMPORT_LOG } });
