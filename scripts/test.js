#!/usr/bin/env node
// `npm test`: makes sure PostgreSQL and Redis are up (starting them the way
// this machine's services are started when they are not), runs the whole
// vitest suite, and ends with one summary line: "tests: N passed, N failed".
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import net from 'node:net';

function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
  });
}

async function waitFor(port, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await reachable(port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function ensure(name, port, start) {
  if (await reachable(port)) return;
  console.log(`${name} is not running on 127.0.0.1:${port}; starting it`);
  try {
    execSync(start, { stdio: 'inherit', shell: '/bin/bash' });
  } catch {
    // reported below
  }
  if (!(await waitFor(port, 20))) {
    console.error(`${name} could not be started: run \`${start}\` and try again`);
    process.exit(1);
  }
}

const pgVersions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
await ensure('PostgreSQL', 5432, pgVersions.length
  ? `pg_ctlcluster --skip-systemctl-redirect ${pgVersions[0]} main start`
  : 'echo "PostgreSQL is not installed (apt-get install postgresql)" && false');
await ensure('Redis', 6379, 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no');

const report = '.vitest-report.json';
rmSync(report, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const result = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } });

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const data = JSON.parse(readFileSync(report, 'utf8'));
  passed = data.numPassedTests ?? 0;
  failed = (data.numFailedTests ?? 0) + (data.numRuntimeErrorTests ?? 0);
  skipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  // A file that failed to load has no tests but must still fail the run.
  const brokenFiles = (data.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'));
  failed += brokenFiles.length;
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
