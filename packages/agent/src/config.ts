import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Where the agent listens. */
export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'vsock'; port: number }
  | { kind: 'virtio-serial'; name: string };

/** Everything the agent is told at start (flags, kernel command line, environment). */
export interface AgentConfig {
  /** guest: the agent owns the VM (mounts, hostname, poweroff); host: a test or debug run, touches nothing global. */
  mode: 'guest' | 'host';
  listen: ListenAddress[];
  logLevel: string;
  /** Kata's base directory: the share is at <kataRoot>/shared/containers, sandbox storages at <kataRoot>/sandbox. */
  kataRoot: string;
  sharedDir: string;
  sandboxDir: string;
  /** Roots that storage mount points must stay inside (after symlinks). */
  storageRoots: string[];
  /** Roots that CopyFile targets must stay inside (after symlinks). */
  copyFileRoots: string[];
  /** Agent-private state: bundles, crun state, console sockets. */
  stateDir: string;
  crun: string;
  runner: string | undefined;
  cgroupRoot: string;
  /** Parent of container cgroups, below cgroupRoot. */
  cgroupParent: string;
  /** undefined = decide from the root file system (initramfs → --no-pivot). */
  noPivot: boolean | undefined;
  /** Bytes buffered per output stream before the process is made to wait. */
  outputBufferBytes: number;
  /** Silence after an exit after which output is considered ended (Kata: 500 ms). */
  drainMs: number;
  /** Seconds to wait for a hot-plugged block device (agent.hotplug_timeout). */
  hotplugTimeoutSec: number;
  /** Largest file CopyFile writes. */
  copyFileMaxBytes: number;
  /**
   * Run crun without address randomization (kernel: kata_ts.crun_fixed_layout=1, which the shim sets
   * under TCG): QEMU's translated code is found again only at the same addresses. Containers keep ASLR.
   */
  crunFixedLayout: boolean;
}

export const DEFAULT_KATA_ROOT = '/run/kata-containers';
export const DEFAULT_VSOCK_PORT = 1024;
export const DEFAULT_SERIAL_PORT = 'agent.channel.0';

/** Parses "unix:/p", "vsock:1024", "vsock://-1:1024", "virtio-serial:agent.channel.0". */
export function parseListen(addr: string): ListenAddress {
  if (addr.startsWith('unix:')) return { kind: 'unix', path: addr.slice(5).replace(/^\/\/(?=\/)/, '') };
  const vs = /^vsock:(?:\/\/-?\d+:)?(\d+)$/.exec(addr);
  if (vs) return { kind: 'vsock', port: Number(vs[1]) };
  if (addr.startsWith('virtio-serial:')) return { kind: 'virtio-serial', name: addr.slice('virtio-serial:'.length) };
  throw new Error(`cannot parse listen address ${JSON.stringify(addr)} (unix:<path>, vsock:<port>, virtio-serial:<name>)`);
}

/** Kata's agent.* kernel parameters that this agent honours. */
export function parseCmdline(cmdline: string): Partial<AgentConfig> {
  const out: Partial<AgentConfig> = {};
  for (const word of cmdline.trim().split(/\s+/)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    switch (key) {
      case 'agent.log':
        if (value) out.logLevel = value;
        break;
      case 'agent.server_addr':
        if (value) out.listen = [parseListen(value), { kind: 'virtio-serial', name: DEFAULT_SERIAL_PORT }];
        break;
      case 'agent.hotplug_timeout':
        if (Number(value) > 0) out.hotplugTimeoutSec = Number(value);
        break;
      case 'agent.no_pivot':
        out.noPivot = value !== '0' && value !== 'false';
        break;
      case 'kata_ts.crun_fixed_layout':
        out.crunFixedLayout = value !== '0' && value !== 'false';
        break;
    }
  }
  return out;
}

const USAGE = `usage: kata-agent [options]
  --listen <addr>        unix:<path> | vsock:<port> | virtio-serial:<name> (repeatable; default: virtio-serial:${DEFAULT_SERIAL_PORT} and vsock:${DEFAULT_VSOCK_PORT})
  --mode guest|host      guest (default without --listen unix:) owns the VM; host touches nothing global
  --kata-root <dir>      default ${DEFAULT_KATA_ROOT} (share at <dir>/shared/containers, sandbox at <dir>/sandbox)
  --shared-dir <dir>     override <kata-root>/shared/containers
  --state-dir <dir>      agent state (bundles, crun root); default /run/kata-agent
  --crun <path>          default crun (from PATH)
  --runner <path>        kata-runner helper; default: next to the bundle, /usr/lib/kata-ts/native, or the embedded copy
  --cgroup-root <dir>    default /sys/fs/cgroup
  --no-pivot             pass --no-pivot to crun (default: only when / is an initramfs)
  --log-level <level>    default info (kernel: agent.log=, env: KATA_AGENT_LOG_LEVEL)
  --output-buffer <n>    bytes buffered per output stream (default 1048576)
`;

/** Builds the configuration: defaults < kernel command line (guest) < environment < flags. */
export function loadConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  readCmdline = defaultCmdline,
  underInit = process.pid === 1 || process.ppid === 1,
): AgentConfig {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') throw new UsageError(USAGE);
    if (a === '--no-pivot') {
      flags.set('no-pivot', ['1']);
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unknown argument ${a}\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value\n${USAGE}`);
    flags.set(m[1]!, [...(flags.get(m[1]!) ?? []), value]);
  }
  const known = ['listen', 'mode', 'kata-root', 'shared-dir', 'state-dir', 'crun', 'runner', 'cgroup-root', 'no-pivot', 'log-level', 'output-buffer'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new UsageError(`unknown option --${k}\n${USAGE}`);
  const one = (k: string): string | undefined => flags.get(k)?.at(-1);

  const listenFlags = (flags.get('listen') ?? []).map(parseListen);
  const mode = (one('mode') ?? (listenFlags.some((l) => l.kind === 'unix') ? 'host' : 'guest')) as AgentConfig['mode'];
  if (mode !== 'guest' && mode !== 'host') throw new UsageError(`--mode must be guest or host\n${USAGE}`);
  // Guest mode mounts over /run and /tmp and powers the machine off: never by accident on a host.
  // In the guest the agent is PID 1 or a child of it (tini); anything else must ask for it.
  if (mode === 'guest' && !one('mode') && !underInit) {
    throw new UsageError(`refusing guest mode: not started by the guest's init (pass --mode guest to insist, or --listen unix:<path> for host mode)\n${USAGE}`);
  }
  const fromCmdline = mode === 'guest' ? parseCmdline(readCmdline()) : {};
  const kataRoot = path.resolve(one('kata-root') ?? DEFAULT_KATA_ROOT);
  const sharedDir = path.resolve(one('shared-dir') ?? path.join(kataRoot, 'shared/containers'));
  const envListen = env.KATA_AGENT_SERVER_ADDR ? [parseListen(env.KATA_AGENT_SERVER_ADDR)] : undefined;
  const outputBuffer = Number(one('output-buffer') ?? 1 << 20);
  if (!Number.isInteger(outputBuffer) || outputBuffer < 4096) throw new UsageError('--output-buffer must be an integer ≥ 4096');
  return {
    mode,
    listen: listenFlags.length > 0
      ? listenFlags
      : envListen ?? fromCmdline.listen ?? [{ kind: 'virtio-serial', name: DEFAULT_SERIAL_PORT }, { kind: 'vsock', port: DEFAULT_VSOCK_PORT }],
    logLevel: one('log-level') ?? env.KATA_AGENT_LOG_LEVEL ?? fromCmdline.logLevel ?? 'info',
    kataRoot,
    sharedDir,
    sandboxDir: path.join(kataRoot, 'sandbox'),
    storageRoots: [kataRoot, sharedDir],
    copyFileRoots: [sharedDir],
    stateDir: path.resolve(one('state-dir') ?? '/run/kata-agent'),
    crun: one('crun') ?? 'crun',
    runner: one('runner'),
    cgroupRoot: one('cgroup-root') ?? '/sys/fs/cgroup',
    cgroupParent: 'kata',
    noPivot: flags.has('no-pivot') ? true : fromCmdline.noPivot,
    outputBufferBytes: outputBuffer,
    drainMs: 500,
    hotplugTimeoutSec: fromCmdline.hotplugTimeoutSec ?? 3,
    copyFileMaxBytes: 1 << 30,
    crunFixedLayout: fromCmdline.crunFixedLayout ?? false,
  };
}

/** Thrown for bad flags; main prints the message and exits 2. */
export class UsageError extends Error {}

function defaultCmdline(): string {
  try {
    return readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}
