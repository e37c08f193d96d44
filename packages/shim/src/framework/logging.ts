/**
 * Logging for the shim: pino, structured, one child logger per subsystem carrying the sandbox and
 * container ids. The shim never writes diagnostics to stdout (stdout carries the start/delete
 * protocol); in serve mode logs go to fd 2, which `start` points at the bundle's `log` fifo.
 * This is the only module that imports pino.
 */
import pino from 'pino';

export type Logger = pino.Logger;
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LoggerOptions {
  /** File descriptor to write to (default 2). */
  fd?: number;
  level?: Level;
  /** Fields on every line, e.g. { runtime, ns, id }. */
  base?: Record<string, unknown>;
}

/** Most bytes of log lines held in memory when the reader (containerd) is slow; later lines are dropped. */
const LOG_BUFFER_MAX = 1 << 20;

/** A logger writing JSON lines to a file descriptor without ever blocking the event loop. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = pino.destination({ dest: options.fd ?? 2, sync: false, maxLength: LOG_BUFFER_MAX });
  // A fifo whose reader went away must not crash the shim.
  destination.on('error', () => undefined);
  return pino({ level: options.level ?? 'info', base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything (tests, the `delete` action when no log is wanted). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Flushes what a logger buffered; used before the process exits. */
export function flushLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      log.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}

export interface RateLimit {
  /** Lines allowed per window. */
  lines: number;
  windowMs: number;
}

/**
 * A logger for lines the guest can trigger (agent errors, console output): at most `lines` per
 * window, then one "suppressed N lines" note when the window turns over.
 */
export class LimitedLogger {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly limit: RateLimit = { lines: 20, windowMs: 10_000 },
    private readonly now: () => number = Date.now,
  ) {}

  debug(obj: object, msg: string): void {
    if (this.log.isLevelEnabled('debug') && this.allow()) this.log.debug(obj, msg);
  }

  info(obj: object, msg: string): void {
    if (this.allow()) this.log.info(obj, msg);
  }

  warn(obj: object, msg: string): void {
    if (this.allow()) this.log.warn(obj, msg);
  }

  error(obj: object, msg: string): void {
    if (this.allow()) this.log.error(obj, msg);
  }

  private allow(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.limit.windowMs) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed }, 'rate limit: suppressed log lines');
      this.windowStart = t;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used < this.limit.lines) {
      this.used++;
      return true;
    }
    this.suppressed++;
    return false;
  }
}
