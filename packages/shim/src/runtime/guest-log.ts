/**
 * The agent's log lines, read from the guest's log port (virtio-serial agent.log.0), written into the
 * shim's log: at the agent's own level, under the shim's logger (so with the sandbox id), rate-limited.
 * Nothing in them is trusted: a line that is not a JSON record is logged as text, only a few short
 * scalar fields are copied, and none may stand in for the shim's own (sandbox, container, level...).
 */
import type { Readable } from 'node:stream';
import { LineTail } from '../hypervisor/process-output';
import { LimitedLogger, type Logger } from '../framework/logging';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Scalar = string | number | boolean;

export interface GuestLogRecord {
  level: Level;
  msg: string;
  fields: Record<string, Scalar>;
}

/** The agent's records can carry a stack trace; longer lines are cut (and then logged as text). */
const LINE_MAX = 16 * 1024;
const MAX_FIELDS = 16;
const KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const STRING_MAX = 4096;
/** Keys that belong to the shim's record or to pino: the guest's values are renamed, never used as-is. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v', 'sandbox', 'container', 'subsystem', 'id', 'ns', 'runtime']);
/** Enough for a chatty guest at debug level, not enough to drown the shim's own lines. */
const RATE = { lines: 200, windowMs: 10_000 };

function levelOf(value: unknown): Level {
  const n = typeof value === 'number' ? value : 30;
  if (n <= 20) return 'debug';
  if (n <= 30) return 'info';
  if (n <= 40) return 'warn';
  return 'error';
}

/** One line of the guest's log as the shim will log it. */
export function parseGuestLogLine(line: string): GuestLogRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { level: 'info', msg: 'guest log', fields: { line: line.slice(0, STRING_MAX) } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { level: 'info', msg: 'guest log', fields: { line: line.slice(0, STRING_MAX) } };
  const record = value as Record<string, unknown>;
  const fields: Record<string, Scalar> = {};
  let count = 0;
  for (const [key, v] of Object.entries(record)) {
    if (count >= MAX_FIELDS) break;
    if (key === 'level' || key === 'msg' || !KEY.test(key)) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    const name = RESERVED.has(key) ? `guest${key.charAt(0).toUpperCase()}${key.slice(1)}` : key;
    fields[name] = typeof v === 'string' ? v.slice(0, STRING_MAX) : v;
    count++;
  }
  const msg = typeof record.msg === 'string' && record.msg ? record.msg.slice(0, 512) : 'guest log';
  return { level: levelOf(record.level), msg, fields };
}

/** Logs every line of `stream` (until it ends) through `log`, rate-limited. */
export function forwardGuestLog(stream: Readable, log: Logger): void {
  const limited = new LimitedLogger(log, RATE);
  stream.on('error', () => undefined); // the VM going away ends the stream; nothing to report
  new LineTail(stream, (line) => {
    const r = parseGuestLogLine(line);
    limited[r.level](r.fields, r.msg);
  }, LINE_MAX);
}
