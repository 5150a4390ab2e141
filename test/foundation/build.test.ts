/**
 * The compiled build, laid out as the Docker image lays it out (dist/,
 * bin/, migrations/, no sources), runs the CLI and finds its migrations.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEmptyPgDatabase } from '../support/databases.ts';
import { readJournal } from '../../src/db/migrate.ts';

describe('the compiled build', () => {
  it('builds, and the built mosaic migrates a database and checks a config', async () => {
    const image = mkdtempSync(path.join(tmpdir(), 'mosaic-image-'));
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(image, 'dist')], { encoding: 'utf8', timeout: 240_000 });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    cpSync('bin', path.join(image, 'bin'), { recursive: true });
    cpSync('migrations', path.join(image, 'migrations'), { recursive: true });
    cpSync('package.json', path.join(image, 'package.json'));
    symlinkSync(path.resolve('node_modules'), path.join(image, 'node_modules'), 'dir');
    writeFileSync(path.join(image, 'config.yaml'), 'http:\n  port: 3999\n');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn' };
    const check = spawnSync('node', ['bin/mosaic.js', 'config', 'check'], { cwd: image, env, encoding: 'utf8', timeout: 30_000 });
    expect(check.stdout, check.stderr).toContain(`✓ configuration: valid (${path.join(image, 'config.yaml')}, from ./config.yaml in the working directory)`);
    const url = await createEmptyPgDatabase();
    const migrate = spawnSync('node', ['bin/mosaic.js', 'migrate'], { cwd: image, env: { ...env, DATABASE_URL: url }, encoding: 'utf8', timeout: 60_000 });
    expect(migrate.stdout, migrate.stderr).toContain(`migrations: ${readJournal().length} applied`);
  }, 300_000);
});
