/**
 * The shim's side of the warm pool: `start` asks the factory for a VM (never waiting long: an
 * absent, slow or empty pool just means a clone), the daemon takes it from its environment and
 * leases it for as long as it lives.
 */
import net from 'node:net';
import { LineReader, parsePooledVm, type PooledVm } from './pool-protocol';

/** The environment variable `start` hands the claimed VM to the daemon in. */
export const POOL_VM_ENV = 'KATA_TS_POOL_VM';
/** Why `start` claimed no VM (the daemon logs it). */
export const POOL_MISS_ENV = 'KATA_TS_POOL_MISS';
/** How long `start` waits for the factory's answer. */
const CLAIM_TIMEOUT_MS = 2_000;

/** One request, one reply line, with a deadline; the socket is returned open for a lease. */
function ask(endpoint: string, request: object, timeoutMs: number): Promise<{ reply: Record<string, unknown>; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(endpoint);
    const timer = setTimeout(() => fail(new Error(`the VM pool did not answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const reader = new LineReader(
      (line) => {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        try {
          resolve({ reply: JSON.parse(line) as Record<string, unknown>, socket });
        } catch {
          fail(new Error('the VM pool answered something that is not JSON'));
        }
      },
      fail,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => reader.push(chunk));
    socket.once('error', fail);
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
  });
}

/** Takes a warm VM for `sandboxId`: the VM, or why there is none. */
export async function claimPoolVm(endpoint: string, sandboxId: string): Promise<{ vm: PooledVm } | { reason: string }> {
  let answer;
  try {
    answer = await ask(endpoint, { op: 'take', sandboxId }, CLAIM_TIMEOUT_MS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { reason: code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no VM pool is running' : (err as Error).message };
  }
  answer.socket.destroy();
  const { reply } = answer;
  if (reply.ok !== true) return { reason: typeof reply.reason === 'string' ? reply.reason.slice(0, 200) : 'the VM pool refused' };
  const vm = parsePooledVm(reply.vm);
  return vm ? { vm } : { reason: 'the VM pool answered a malformed VM' };
}

/** Asks the pool for its status (the CLI). */
export async function poolStatus(endpoint: string, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const { reply, socket } = await ask(endpoint, { op: 'status' }, timeoutMs);
  socket.destroy();
  if (reply.ok !== true) throw new Error(String(reply.reason ?? 'the VM pool refused'));
  return reply.status as Record<string, unknown>;
}

/**
 * Tells the pool this process owns the VM now; the connection stays open (not keeping the process
 * alive) and its end, whenever this process ends, tells the pool to kill the VM.
 */
export async function leasePoolVm(endpoint: string, name: string): Promise<void> {
  const { reply, socket } = await ask(endpoint, { op: 'lease', vm: name }, CLAIM_TIMEOUT_MS);
  if (reply.ok !== true) {
    socket.destroy();
    throw new Error(String(reply.reason ?? 'lease refused'));
  }
  socket.on('error', () => undefined);
  socket.unref();
}

/** The VM `start` claimed for this sandbox, taken out of the environment (used once). */
export function takeClaimedVm(sandboxId: string, env: NodeJS.ProcessEnv = process.env): PooledVm | undefined {
  const raw = env[POOL_VM_ENV];
  if (!raw) return undefined;
  delete env[POOL_VM_ENV];
  try {
    const parsed = JSON.parse(raw) as { sandboxId?: unknown; vm?: unknown };
    if (parsed.sandboxId !== sandboxId) return undefined;
    return parsePooledVm(parsed.vm);
  } catch {
    return undefined;
  }
}
