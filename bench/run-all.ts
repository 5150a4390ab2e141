/** `npm run bench`: every benchmark in bench/, one after another, each in its own process. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const runner = path.resolve(here, '..', 'bin', 'run-ts.js');
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts')
  .sort();

let failed = 0;
for (const script of scripts) {
  console.log(`\n=== ${script} ===`);
  const result = spawnSync(process.execPath, [runner, path.join(here, script)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    console.log(`${script} exited with ${result.status ?? result.signal}`);
  }
}
process.exitCode = failed ? 1 : 0;
