/**
 * The `start` action: find or create the shim that serves this container and print its address.
 * A pod's later containers get the address of the pod's shim; a sandbox or single container gets a
 * new daemon, spawned detached (new session, no inherited stdio, the listening socket as fd 3,
 * stderr on the bundle's `log` fifo). stdout carries only the address; stderr stays silent.
 */
import { spawn } from 'node:child_process';
import { constants, existsSync, openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ShimFlags } from './flags';
import type { ShimManager } from './manager';
import type { AnyMessage } from '@kata-ts/protocol';
import { codecs } from '@kata-ts/protocol/containerd';
import type { StartInput } from './bootstrap';
import { DEFAULT_SOCKET_DIR, listenShimSocket, serverFd, socketAddress } from './socket';

/** Env var through which the daemon learns its own address (to remove the socket on exit). */
export const SHIM_ADDRESS_ENV = 'KATA_TS_SHIM_ADDRESS';
/**
 * Env var that hands `start`'s runtime options (a marshalled Any, base64) to the daemon. The Sandbox
 * API's CreateSandbox carries the pod's config, not the handler's options, so without this a pod
 * created that way could not find its configuration file.
 */
export const RUNTIME_OPTIONS_ENV = 'KATA_TS_RUNTIME_OPTIONS';

/** How `start` passes its runtime options down (the value of RUNTIME_OPTIONS_ENV). */
export function runtimeOptionsEnvValue(options: AnyMessage): string {
  return Buffer.from(codecs.any.encode(options)).toString('base64');
}

/** The runtime options `start` passed down, if any. */
export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AnyMessage | undefined {
  const raw = env[RUNTIME_OPTIONS_ENV];
  if (!raw) return undefined;
  try {
    const any = codecs.any.decode(Buffer.from(raw, 'base64'));
    return any.type_url ? any : undefined;
  } catch {
    return undefined;
  }
}
const UNSHARE = '/usr/bin/unshare';
const NSENTER = '/usr/bin/nsenter';
/**
 * node flags of the long-lived daemon (one per pod), for a smaller resident set: 1 MiB semi-spaces
 * (V8's young generation may grow to 16 MiB each; the shim's garbage is small and short-lived, its IO
 * moves Buffers outside the heap) and V8's optimize-for-size mode. Measured on an idle pod's daemon:
 * PSS 39 MiB with the first alone, 31 MiB with both (anonymous 28 -> 20 MiB).
 */
const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];

/** Writes `<bundle>/address` atomically (containerd 1.x and CRI-O reconnect with it). */
export async function writeAddressFile(bundle: string, address: string): Promise<void> {
  const tmp = path.join(bundle, '.address.tmp');
  await fs.writeFile(tmp, address, { mode: 0o644 });
  await fs.rename(tmp, path.join(bundle, 'address'));
}

/** Opens the bundle's `log` fifo for the daemon's stderr without blocking; undefined if there is none. */
function openLogFifo(bundle: string): number | undefined {
  try {
    // O_RDWR never blocks at open and keeps working when containerd (the reader) restarts.
    return openSync(path.join(bundle, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

/** Runs `start` and returns the address to print. */
export async function startShim(manager: ShimManager, flags: ShimFlags, input: StartInput, bundle: string): Promise<string> {
  const { groupId, ownsShim, privateMountNamespace } = await manager.group(bundle, flags.id);
  const address = socketAddress(flags.address, flags.namespace, groupId, input.socketDir ?? DEFAULT_SOCKET_DIR);
  if (!ownsShim) {
    await writeAddressFile(bundle, address);
    return address;
  }
  const listening = await listenShimSocket(address);
  if (listening.kind === 'in-use') {
    await writeAddressFile(bundle, address);
    return address;
  }
  const script = process.argv[1] ?? '';
  const daemonArgs = [...DAEMON_NODE_FLAGS, script, '-namespace', flags.namespace, '-id', flags.id, '-address', flags.address];
  if (flags.publishBinary) daemonArgs.push('-publish-binary', flags.publishBinary);
  if (flags.debug || input.debug) daemonArgs.push('-debug');
  // Only root can make a mount namespace; unprivileged runs (tests) serve without one.
  const wrap = privateMountNamespace && process.getuid?.() === 0 && existsSync(UNSHARE);
  // A daemon adopting a pool VM joins the mount namespace that VM's QEMU already has (a private
  // one, as unshare would make), so that its share mounts reach the guest.
  const claimed = wrap ? await manager.claimVm?.(bundle, flags.id, input.options) : undefined;
  const [file, args] = claimed?.mountNamespacePid
    ? [NSENTER, [`--mount=/proc/${claimed.mountNamespacePid}/ns/mnt`, `--wd=${bundle}`, '--', process.execPath, ...daemonArgs]]
    : wrap ? [UNSHARE, ['--mount', '--propagation', 'slave', '--', process.execPath, ...daemonArgs]] : [process.execPath, daemonArgs];
  const env: NodeJS.ProcessEnv = { ...process.env, ...claimed?.env, [SHIM_ADDRESS_ENV]: address };
  if (input.ttrpcAddress !== undefined) env.TTRPC_ADDRESS = input.ttrpcAddress;
  if (input.options) env[RUNTIME_OPTIONS_ENV] = runtimeOptionsEnvValue(input.options);
  else delete env[RUNTIME_OPTIONS_ENV];
  const logFd = openLogFifo(bundle);
  try {
    const child = spawn(file, args, {
      cwd: bundle,
      env,
      detached: true,
      stdio: ['ignore', 'ignore', logFd ?? 'ignore', serverFd(listening.server)],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
  await writeAddressFile(bundle, address);
  // The listener stays open in the daemon; our copy closes when this process exits.
  return address;
}
