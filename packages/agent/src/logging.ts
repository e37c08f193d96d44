import pino from 'pino';

export type Logger = pino.Logger;

/**
 * The agent's root logger: JSON lines to the VM's log port (log-port.ts) when there is one, else on
 * stderr (in the guest, the console). Subsystems take children: `log.child({ subsystem: 'rpc', sandbox, container })`.
 */
export function createLogger(level: string, destination: pino.DestinationStream | number = 2): Logger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { name: 'kata-agent', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/**
 * Rate limiter for log lines that a container (or the host) can trigger at will: at most `burst`
 * lines per `intervalMs` per key; the rest are counted and reported once when the window reopens.
 */
export class LogLimiter {
  private readonly windows = new Map<string, { start: number; count: number; dropped: number }>();

  constructor(
    private readonly burst = 10,
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 1024,
  ) {}

  /** Returns how many lines were dropped before this one (≥ 0) if the line may be logged, else -1. */
  take(key: string, now = Date.now()): number {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.intervalMs) {
      const dropped = w?.dropped ?? 0;
      if (!w && this.windows.size >= this.maxKeys) this.windows.clear();
      w = { start: now, count: 0, dropped: 0 };
      this.windows.set(key, w);
      w.count = 1;
      return dropped;
    }
    if (w.count < this.burst) {
      w.count++;
      return 0;
    }
    w.dropped++;
    return -1;
  }
}

/** A logger wrapper whose warn/info lines are rate-limited per message key. */
export function limited(log: Logger, limiter: LogLimiter) {
  const emit = (level: 'warn' | 'info' | 'debug', key: string, obj: object, msg: string): void => {
    const dropped = limiter.take(key);
    if (dropped < 0) return;
    log[level](dropped > 0 ? { ...obj, suppressed: dropped } : obj, msg);
  };
  return {
    warn: (key: string, obj: object, msg: string) => emit('warn', key, obj, msg),
    info: (key: string, obj: object, msg: string) => emit('info', key, obj, msg),
    debug: (key: string, obj: object, msg: string) => emit('debug', key, obj, msg),
  };
}
export type LimitedLogger = ReturnType<typeof limited>;
