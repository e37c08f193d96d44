/**
 * nerdctl as a test client: the peer scripts/install-peers.sh built, pointed at a private containerd
 * (its socket and namespace), with a data root and a CNI configuration directory of its own in the
 * test's temp dir, cgroupfs (no systemd here), Debian's CNI plugins. When the containerd runs in a
 * test-owned network namespace, nerdctl runs there too (nsenter --net): the default bridge network it
 * creates, its veths and the iptables rules of published ports then stay inside that namespace.
 */
import path from 'node:path';
import { CommandError, run, type CommandResult } from './exec';
import { peerProgram } from './containerd-versions';

export interface NerdctlOptions {
  /** containerd's gRPC socket. */
  address: string;
  /** containerd namespace nerdctl works in. */
  namespace: string;
  /** A directory of the test's own (nerdctl's --data-root; CNI conf lives in <dir>/cni/net.d). */
  dir: string;
  /** Network namespace (a path) to run nerdctl in, the one containerd runs in. */
  netnsPath?: string;
  /** Default: the built peer (peerProgram('nerdctl', 'nerdctl')). */
  program?: string;
}

export interface NerdctlRunOptions {
  input?: string;
  /** Default 180 s (a VM boot under TCG on a loaded machine). */
  timeoutMs?: number;
  cwd?: string;
}

/** Debian's CNI plugins (containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';

export class Nerdctl {
  readonly program: string;
  readonly dataRoot: string;
  readonly cniNetconfPath: string;

  constructor(private readonly o: NerdctlOptions) {
    const program = o.program ?? Nerdctl.builtProgram();
    if (!program) throw new Error('nerdctl was not built (scripts/install-peers.sh nerdctl)');
    this.program = program;
    this.dataRoot = path.join(o.dir, 'nerdctl');
    this.cniNetconfPath = path.join(o.dir, 'cni', 'net.d');
  }

  /** The nerdctl install-peers.sh built, or undefined. */
  static builtProgram(): string | undefined {
    return peerProgram('nerdctl', 'nerdctl');
  }

  /** The global flags that tie nerdctl to this containerd and the test's directories. */
  globalArgs(): string[] {
    return [
      '--address', this.o.address, '--namespace', this.o.namespace, '--data-root', this.dataRoot,
      '--cgroup-manager', 'cgroupfs', '--cni-path', CNI_BIN_DIR, '--cni-netconfpath', this.cniNetconfPath,
    ];
  }

  /** The full argv of `nerdctl <args>` (behind nsenter when in a netns). */
  argv(args: readonly string[]): string[] {
    const argv = [this.program, ...this.globalArgs(), ...args];
    return this.o.netnsPath ? ['nsenter', `--net=${this.o.netnsPath}`, '--', ...argv] : argv;
  }

  /** Runs `nerdctl <args>`; resolves whatever the exit code. */
  run(args: readonly string[], opts: NerdctlRunOptions = {}): Promise<CommandResult> {
    const [file, ...rest] = this.argv(args);
    return run(file!, rest, { timeoutMs: opts.timeoutMs ?? 180_000, input: opts.input, cwd: opts.cwd });
  }

  /** Like run() but the command must exit 0; returns its stdout. */
  async ok(args: readonly string[], opts: NerdctlRunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new CommandError(['nerdctl', ...args], r);
    return r.stdout;
  }

  /**
   * `nerdctl <args>` under a pseudo-terminal (for -t/-it), through script(1), with `input` typed into
   * it; resolves with nerdctl's exit code (script -e) and what the terminal showed.
   */
  withTty(args: readonly string[], input?: string, timeoutMs = 180_000): Promise<CommandResult> {
    const quoted = this.argv(args).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return run('script', ['-qec', quoted, '/dev/null'], { timeoutMs, input });
  }
}
