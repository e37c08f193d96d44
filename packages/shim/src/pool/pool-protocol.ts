/**
 * The warm pool's socket protocol (`kata-ts factory serve` <-> shims and the CLI): one JSON object
 * per line, each way, on a unix socket in a 0700 directory (root only).
 *
 *   {"op":"take","sandboxId":"<id>"}   -> {"ok":true,"vm":PooledVm} | {"ok":false,"reason":"..."}
 *   {"op":"lease","vm":"<name>"}       -> {"ok":true}; the shim keeps the connection open while it
 *                                         owns the VM: when it closes, the factory kills that VM
 *   {"op":"status"}                    -> {"ok":true,"status":PoolStatus}
 */
import type { AdoptedVm } from '../hypervisor/adopted-qemu';

/** A pool VM as handed to a shim. */
export interface PooledVm extends AdoptedVm {
  /** The VM's directory: mounts/ and shared/ (its 9p share, already set up in QEMU's mount namespace). */
  dir: string;
  /** The template key it was cloned from: the shim uses it only for a sandbox of the same shape. */
  key: string;
}

export type PoolRequest =
  | { op: 'take'; sandboxId: string }
  | { op: 'lease'; vm: string }
  | { op: 'status' };

export interface PoolStatus {
  pid: number;
  target: number;
  ready: Array<{ name: string; qemuPid: number; readyMs: number }>;
  starting: number;
  handedOver: number;
  key: string;
  /** Why the pool cannot fill (e.g. the configuration cannot use templates), if it cannot. */
  problem?: string;
  lastError?: string;
}

export type PoolReply =
  | { ok: true; vm?: PooledVm; status?: PoolStatus }
  | { ok: false; reason: string };

/** Longest line either side accepts. */
export const MAX_POOL_LINE = 64 * 1024;

/** Splits a byte stream into bounded lines; an over-long line is an error, not a buffer that grows. */
export class LineReader {
  private buffer = '';

  constructor(private readonly onLine: (line: string) => void, private readonly onError: (err: Error) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
    if (this.buffer.length > MAX_POOL_LINE) {
      this.buffer = '';
      this.onError(new Error(`a pool message is longer than ${MAX_POOL_LINE} bytes`));
    }
  }
}

/** Parses a request, or says what is wrong with it. */
export function parsePoolRequest(line: string): PoolRequest | { error: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  const m = msg as Record<string, unknown>;
  if (m?.op === 'status') return { op: 'status' };
  if (m?.op === 'take' && typeof m.sandboxId === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(m.sandboxId)) return { op: 'take', sandboxId: m.sandboxId };
  if (m?.op === 'lease' && typeof m.vm === 'string' && /^sandbox-pool-[0-9a-z-]{1,64}$/.test(m.vm)) return { op: 'lease', vm: m.vm };
  return { error: `unknown or malformed request ${JSON.stringify(line.slice(0, 100))}` };
}

/** Checks a handed-over VM's fields (the shim trusts the factory, a root process, but not blindly). */
export function parsePooledVm(value: unknown): PooledVm | undefined {
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return undefined;
  const str = (k: string) => (typeof v[k] === 'string' && (v[k] as string).length > 0 && (v[k] as string).length < 4096 ? (v[k] as string) : undefined);
  const pid = v.qemuPid;
  const name = str('name');
  const dir = str('dir');
  const qmpSocket = str('qmpSocket');
  const agentSocket = str('agentSocket');
  const key = str('key');
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1 || !name || !/^sandbox-pool-[0-9a-z-]+$/.test(name) || !dir || !qmpSocket || !agentSocket || !key) return undefined;
  if (![dir, qmpSocket, agentSocket].every((p) => p.startsWith('/') && !p.split('/').includes('..'))) return undefined;
  return { qemuPid: pid, name, dir, qmpSocket, agentSocket, key };
}
