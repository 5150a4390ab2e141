/**
 * The `mosaic` command runs the compiled build that `npm ci` makes, and never
 * a build older than the sources beside it: an edited source makes it run the
 * sources until the next build; a checkout that only touched file times does
 * not. Which one ran is read from the modules the process resolved.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { baseEnv, freshCheckout, runMosaicRecordingImports } from '../support/processes.ts';

let clone: string;
beforeAll(() => {
  clone = freshCheckout();
}, 300_000);

function help(label: string): { stdout: string; ranBuild: boolean; ranSources: boolean } {
  const log = path.join(clone, `imports-${label}.log`);
  const run = runMosaicRecordingImports(['--help'], { cwd: clone, log, bin: path.join(clone, 'bin', 'mosaic.js') });
  expect(run.status, run.stderr).toBe(0);
  const loaded = readFileSync(log, 'utf8');
  return { stdout: run.stdout, ranBuild: loaded.includes(`${clone}/dist/src/cli.js`), ranSources: loaded.includes(`${clone}/src/cli.ts`) };
}

describe('the compiled CLI', () => {
  it('runs dist/ after npm ci, the sources once one is edited, and dist/ again after a build', async () => {
    const fresh = help('fresh');
    expect(fresh).toMatchObject({ ranBuild: true, ranSources: false });

    // A checkout that rewrote a file with the same content (new time, same bytes): still the build.
    const cli = path.join(clone, 'src', 'cli.ts');
    const later = new Date(Date.now() + 60_000);
    utimesSync(cli, later, later);
    expect(help('touched')).toMatchObject({ ranBuild: true, ranSources: false });

    // An edited source: the build is stale, the sources run (and show the edit).
    writeFileSync(cli, readFileSync(cli, 'utf8').replace("'Mosaic: a Matrix-native AI agent gateway'", "'Mosaic (edited): a Matrix-native AI agent gateway'"));
    const edited = help('edited');
    expect(edited).toMatchObject({ ranBuild: false, ranSources: true });
    expect(edited.stdout).toContain('Mosaic (edited)');

    // `npm run build` makes the build current again.
    const build = spawnSync('npm', ['run', 'build'], { cwd: clone, env: baseEnv(), encoding: 'utf8', timeout: 300_000 });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    const rebuilt = help('rebuilt');
    expect(rebuilt).toMatchObject({ ranBuild: true, ranSources: false });
    expect(rebuilt.stdout).toContain('Mosaic (edited)');
  }, 400_000);
});
