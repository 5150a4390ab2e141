/**
 * The terminal client in a real pseudo-terminal: tmux (Debian's package)
 * on a server of its own (`-L`), so tests never touch a developer's tmux.
 * Every wait polls the screen (capture-pane) for a condition; none sleeps
 * for a fixed time. Calls are asynchronous: the gateway under test runs in
 * this process and must keep answering while we wait.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BIN, baseEnv } from '../support/processes.ts';

const run = promisify(execFile);
const SOCKET = `mosaic-tui-test-${process.pid}`;
let counter = 0;

async function tmux(...args: string[]): Promise<string> {
  const { stdout } = await run('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  return stdout;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class TuiSession {
  private constructor(readonly name: string) {}

  /**
   * Starts `mosaic <args>` in a new tmux window of `cols`×`rows`. When the
   * command ends, the shell prints `EXITED:<code>` and stays, so a test can
   * read what the terminal looks like afterwards.
   */
  static async start(args: string[], options: { env: Record<string, string>; cols?: number; rows?: number }): Promise<TuiSession> {
    const name = `tui${++counter}`;
    const env = { ...baseEnv(options.env), TERM: 'xterm-256color' };
    const exports = Object.entries(env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ');
    const command = `env -i ${exports} node ${quote(BIN)} ${args.map(quote).join(' ')}; echo "EXITED:$?"; exec sleep 600`;
    await tmux('new-session', '-d', '-s', name, '-x', String(options.cols ?? 100), '-y', String(options.rows ?? 30), 'sh', '-c', command);
    return new TuiSession(name);
  }

  /** The screen as text; with `escapes`, with its colours and attributes as SGR codes. */
  async screen(escapes = false): Promise<string> {
    return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name);
  }

  async waitFor(what: string, test: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await this.screen();
      if (test(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  waitForText(text: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor(String(text), (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), timeoutMs);
  }

  /** Types text literally (no key names). */
  async type(text: string): Promise<void> {
    await tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Presses keys by tmux name: Enter, Escape, C-d, PageUp, M-Enter … */
  async press(...keys: string[]): Promise<void> {
    await tmux('send-keys', '-t', this.name, ...keys);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await tmux('resize-window', '-t', this.name, '-x', String(cols), '-y', String(rows));
  }

  /** Whether the program has the alternate screen on (a full-screen program is running). */
  async alternateScreen(): Promise<boolean> {
    return (await tmux('display-message', '-p', '-t', this.name, '#{alternate_on}')).trim() === '1';
  }

  /** The pid of the program in the window (the shell's child). */
  async programPid(): Promise<number> {
    const shell = Number((await tmux('display-message', '-p', '-t', this.name, '#{pane_pid}')).trim());
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(shell)], { encoding: 'utf8' });
    return Number(stdout.trim().split(/\s+/)[0]);
  }

  async kill(): Promise<void> {
    await tmux('kill-session', '-t', this.name).catch(() => undefined);
  }
}

export async function killTmuxServer(): Promise<void> {
  await tmux('kill-server').catch(() => undefined);
}
