/**
 * Progress of a long step (making a VM template) on stderr. On a terminal one line is redrawn in
 * place (\r, erase to the end of the line) with a spinner and the seconds the current phase has
 * taken, cut to the terminal's width so it never wraps; the final line stays. Elsewhere (a pipe, a
 * log file, --json) plain lines, one per phase, and detail lines at most every `plainDetailMs`, so
 * a log stays short and readable.
 */

/** What the renderer writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Redraw one line in place; default: the stream is a terminal. */
  tty?: boolean;
  /** Prefix of plain lines, e.g. 'factory init: '. */
  prefix?: string;
  /** Clock (ms); tests pass a fake one. */
  now?: () => number;
  /** How often the in-place line is redrawn while nothing happens (its spinner and clock move); 0: never. */
  tickMs?: number;
  /** Plain mode: the least time between two detail lines of one phase (the first and forced ones always print). */
  plainDetailMs?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[K';

export class Progress {
  readonly tty: boolean;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly plainDetailMs: number;
  private phaseText = '';
  private detailText = '';
  private phaseStarted = 0;
  private lastPlainDetail = -Infinity;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(private readonly stream: ProgressStream, options: ProgressOptions = {}) {
    this.tty = options.tty ?? stream.isTTY === true;
    this.now = options.now ?? (() => Date.now());
    this.prefix = options.prefix ?? '';
    this.plainDetailMs = options.plainDetailMs ?? 1_000;
    const tickMs = options.tickMs ?? 200;
    if (this.tty && tickMs > 0) {
      this.timer = setInterval(() => {
        if (this.phaseText) this.draw();
      }, tickMs);
      this.timer.unref();
    }
  }

  /** A new phase begins: its text replaces the line (tty) or is printed (plain). */
  phase(text: string): void {
    this.phaseText = text;
    this.detailText = '';
    this.phaseStarted = this.now();
    this.lastPlainDetail = -Infinity;
    if (this.tty) this.draw();
    else this.stream.write(`${this.prefix}${text}\n`);
  }

  /**
   * More about the current phase (a percentage, a count). Plain: printed as `<phase>: <detail>`
   * for the phase's first detail, then at most every plainDetailMs, or when `force` is set.
   */
  detail(text: string, force = false): void {
    this.detailText = text;
    if (this.tty) {
      this.draw();
      return;
    }
    const now = this.now();
    if (!force && now - this.lastPlainDetail < this.plainDetailMs) return;
    this.lastPlainDetail = now;
    this.stream.write(`${this.prefix}${this.phaseText ? `${this.phaseText}: ` : ''}${text}\n`);
  }

  /** The last line: it stays on the terminal (or is printed), and the renderer stops. */
  done(text: string): void {
    this.stop();
    this.stream.write(this.tty ? `${CLEAR_LINE}${text}\n` : `${this.prefix}${text}\n`);
    this.drawn = false;
  }

  /** Erases the in-place line (before an error is printed) and stops; nothing in plain mode. */
  clear(): void {
    this.stop();
    if (this.tty && this.drawn) this.stream.write(CLEAR_LINE);
    this.drawn = false;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private draw(): void {
    const seconds = ((this.now() - this.phaseStarted) / 1000).toFixed(1);
    const spin = SPINNER[this.frame++ % SPINNER.length]!;
    const body = `${spin} ${this.phaseText}${this.detailText ? `: ${this.detailText}` : ''}`;
    const clock = `  ${seconds} s`;
    // A line longer than the terminal wraps and \r then redraws only its last row: cut it instead.
    const width = (this.stream.columns || 80) - 1; // a pty of unknown size says 0
    const room = Math.max(0, width - clock.length);
    const shown = [...body].length > room ? `${[...body].slice(0, Math.max(0, room - 1)).join('')}…` : body;
    this.stream.write(`${CLEAR_LINE}${shown}${clock}`);
    this.drawn = true;
  }
}

/** 1536 -> "1.5 KiB": binary units, one decimal below 10. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}
