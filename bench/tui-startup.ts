/**
 * How fast `mosaic tui` is ready, as a person starts it (a new process in a
 * real pseudo-terminal, tmux, from the build `npm ci` makes) with a server
 * running: from the spawn to
 *   - the first frame: the screen drawn, the input taking keys;
 *   - ready: the last conversation's history on screen and the socket
 *     online (the status line's "● online").
 * Target: ready in under a second.
 *
 *   node bin/run-ts.js bench/tui-startup.ts [runs]
 *
 * The screen is polled every 5 ms (tmux capture-pane), so figures are
 * upper bounds by about that much. Needs Redis on VALKEY_URL or 127.0.0.1:6379.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchEnv, bin, deleteValkeyKeys, ensureBuild, startMosaic, type MosaicServer } from './support/mosaic-process.ts';

const runs = Number(process.argv[2] ?? 7);
const env = benchEnv('tui');
const SOCKET = `mosaic-bench-tui-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

ensureBuild();

const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-tui-'));
const home = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-tui-home-'));
const created = spawnSync(process.execPath, [bin, 'user', 'create', 'bench', '--admin'], { cwd, env, encoding: 'utf8' });
if (created.status !== 0) throw new Error(`user create failed: ${created.stderr}`);
const token = created.stdout.trim().split('\n').pop()!;
let server: MosaicServer | null = null;

function stats(label: string, samples: number[]): void {
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${label.padEnd(52)} median ${median.toFixed(0).padStart(5)} ms   min ${samples[0]!.toFixed(0).padStart(5)} ms   max ${samples.at(-1)!.toFixed(0).padStart(5)} ms`);
}

try {
  server = await startMosaic(cwd, env);
  const url = server.url;
  // A conversation with some history to reopen.
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const conv = (await (await fetch(`${url}/api/conversations`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'Bench conversation' }) })).json()) as { id: string };
  for (let i = 0; i < 10; i++) await fetch(`${url}/api/conversations/${conv.id}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ content: `Message ${i} with **markdown** and \`code\`` }) });
  const clientEnv = { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state'), MOSAIC_SERVER: url, MOSAIC_TOKEN: token, TERM: 'xterm-256color' };
  const exports = Object.entries(clientEnv)
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ');
  const first: number[] = [];
  const ready: number[] = [];
  console.log(`mosaic tui start-up, ${runs} runs (+1 warm-up), 100×30, node ${process.version}, server at ${url}`);
  for (let i = 0; i <= runs; i++) {
    const name = `run${i}`;
    const started = performance.now();
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', `env -i ${exports} ${process.execPath} ${bin} tui --conversation ${conv.id}; exec sleep 60`);
    let firstAt = 0;
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-t', name);
      const now = performance.now();
      if (!firstAt && screen.includes('›')) firstAt = now;
      // The title and the history come in one step; the newest message is at the bottom of the log.
      if (screen.includes('● online') && screen.includes('Bench conversation') && /or try again later|Message 9 with/.test(screen)) {
        if (i > 0) {
          first.push(firstAt - started);
          ready.push(now - started);
        }
        break;
      }
      if (now - started > 30_000) throw new Error(`the TUI was not ready within 30 s:\n${screen}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    tmux('kill-session', '-t', name);
  }
  // What any Node program and the bare command cost on this machine right now (the load varies).
  const baseline = (args: string[]) =>
    Array.from({ length: runs }, () => {
      const t = performance.now();
      spawnSync(process.execPath, args, { env, encoding: 'utf8' });
      return performance.now() - t;
    });
  stats('baseline: node -e 0', baseline(['-e', '0']));
  stats('baseline: mosaic --version', baseline([bin, '--version']));
  stats('first frame (input takes keys)', first);
  stats('ready (history on screen, socket online)', ready);
} finally {
  try {
    tmux('kill-server');
  } catch {
    // Already gone.
  }
  await server?.stop();
  rmSync(cwd, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  await deleteValkeyKeys(env.VALKEY_PREFIX);
}
