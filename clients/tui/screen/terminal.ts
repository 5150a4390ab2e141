/**
 * The terminal itself: the alternate screen, raw keyboard input with
 * bracketed paste, drawing a frame (only the rows that changed, inside a
 * synchronized update so nothing flickers), resizes — and putting
 * everything back on every way out: a normal quit, SIGTERM/SIGHUP, an
 * uncaught error. The shell gets its screen, cursor and line mode back.
 */
import { emitKeypressEvents } from 'node:readline';
import { truncate } from './ansi.ts';

export interface Key {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
  sequence?: string;
}

export class Terminal {
  private previous: string[] = [];
  private active = false;
  private readonly restoreOnExit = () => this.restore();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.restore();
    process.exit(signal === 'SIGTERM' ? 143 : 129);
  };
  private readonly onCrash = (err: unknown) => {
    this.restore();
    process.stderr.write(`mosaic tui: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  };

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly input: NodeJS.ReadStream = process.stdin,
  ) {}

  get cols(): number {
    return Math.max(20, this.out.columns || 80);
  }

  get rows(): number {
    return Math.max(8, this.out.rows || 24);
  }

  start(onKey: (text: string | undefined, key: Key) => void, onResize: () => void): void {
    this.active = true;
    process.on('exit', this.restoreOnExit);
    process.on('SIGTERM', this.onSignal);
    process.on('SIGHUP', this.onSignal);
    process.on('uncaughtException', this.onCrash);
    process.on('unhandledRejection', this.onCrash);
    // Alternate screen, cleared; bracketed paste (a pasted newline is text, not Enter).
    this.out.write('\x1b[?1049h\x1b[2J\x1b[H\x1b[?2004h');
    emitKeypressEvents(this.input);
    if (this.input.isTTY) this.input.setRawMode(true);
    this.input.setEncoding('utf8');
    this.input.on('keypress', onKey);
    this.input.resume();
    this.out.on('resize', () => {
      this.previous = [];
      this.out.write('\x1b[2J');
      onResize();
    });
  }

  /** Draws the frame; `cursor` is where the text cursor shows (the input line), or null to hide it. */
  draw(lines: string[], cursor: { row: number; col: number } | null): void {
    if (!this.active) return;
    const rows = this.rows;
    const cols = this.cols;
    let buf = '\x1b[?2026h\x1b[?25l';
    for (let r = 0; r < rows; r++) {
      const line = truncate(lines[r] ?? '', cols);
      if (this.previous[r] === line) continue;
      buf += `\x1b[${r + 1};1H\x1b[0m${line}\x1b[0m\x1b[K`;
      this.previous[r] = line;
    }
    this.previous.length = rows;
    if (cursor) buf += `\x1b[${cursor.row + 1};${cursor.col + 1}H\x1b[?25h`;
    buf += '\x1b[?2026l';
    this.out.write(buf);
  }

  /** Forgets what is on screen: the next draw writes every row. */
  invalidate(): void {
    this.previous = [];
    this.out.write('\x1b[2J');
  }

  restore(): void {
    if (!this.active) return;
    this.active = false;
    try {
      if (this.input.isTTY) this.input.setRawMode(false);
      this.input.pause();
    } catch {
      // The terminal may already be gone (SIGHUP): nothing left to restore on it.
    }
    this.out.write('\x1b[0m\x1b[?2004l\x1b[?25h\x1b[?1049l');
    process.off('SIGTERM', this.onSignal);
    process.off('SIGHUP', this.onSignal);
    process.off('uncaughtException', this.onCrash);
    process.off('unhandledRejection', this.onCrash);
  }
}
