/**
 * crictl (cri-tools, built by scripts/install-peers.sh) against one CRI endpoint, as an operator runs
 * it: pod and container configs written as JSON files, ids read from stdout, `-o json` parsed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type CommandResult } from './exec';
import { peerProgram } from './containerd-versions';

/** crictl's path, or undefined when cri-tools was not built. */
export function crictlPath(): string | undefined {
  return peerProgram('cri-tools', 'crictl');
}

export class Crictl {
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'kata-ts-crictl-'));
  private files = 0;

  /**
   * @param endpoint the CRI socket (unix://...)
   * @param netnsPath the netns the daemon runs in: its streaming server (exec -i/-t, attach, port-forward)
   *   listens on loopback there, so crictl must run there too.
   */
  constructor(readonly endpoint: string, private readonly netnsPath?: string, private readonly program = crictlPath() ?? 'crictl') {
    // Everything is on the command line; an empty config keeps crictl from looking for /etc/crictl.yaml.
    writeFileSync(path.join(this.dir, 'crictl.yaml'), '');
  }

  /** What `crictl exec -s` prints for an ExecSync result: stdout, a newline, stderr, a newline, all on stdout. */
  static execSyncOutput(stdout: string, stderr = ''): string {
    return `${stdout}\n${stderr}\n`;
  }

  /** The argv that runs crictl against this endpoint (inside the daemon's netns, if any). */
  argv(args: readonly string[]): string[] {
    const crictl = [this.program, '--config', path.join(this.dir, 'crictl.yaml'), '--runtime-endpoint', this.endpoint, '--image-endpoint', this.endpoint, '--timeout', '180s', ...args];
    return this.netnsPath ? ['nsenter', `--net=${this.netnsPath}`, '--', ...crictl] : crictl;
  }

  /** Runs crictl; resolves whatever the exit code. */
  run(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
    const [file, ...rest] = this.argv(args);
    return run(file!, rest, { timeoutMs: options.timeoutMs ?? 200_000, input: options.input });
  }

  /** Runs crictl and returns stdout; throws with stderr when it fails. */
  async ok(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    const r = await this.run(args, options);
    if (r.code !== 0) throw new Error(`crictl ${args.join(' ')}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Runs a crictl subcommand with `-o json` (flags go before its arguments) and parses the output. */
  async json<T = Record<string, unknown>>([command, ...rest]: readonly string[]): Promise<T> {
    return JSON.parse(await this.ok([command!, '-o', 'json', ...rest])) as T;
  }

  /** Writes a config object as a JSON file crictl can read; returns its path. */
  writeConfig(config: object): string {
    const file = path.join(this.dir, `config-${this.files++}.json`);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  /** `crictl runp --runtime <handler>`; returns the pod id. */
  async runp(podConfig: object, handler: string): Promise<string> {
    return (await this.ok(['runp', '--runtime', handler, this.writeConfig(podConfig)])).trim();
  }

  /** `crictl create` (never pulling: images are imported); returns the container id. */
  async create(podId: string, containerConfig: object, podConfig: object): Promise<string> {
    return (await this.ok(['create', '--no-pull', podId, this.writeConfig(containerConfig), this.writeConfig(podConfig)])).trim();
  }

  /** `crictl create` then `crictl start`; returns the container id. */
  async createAndStart(podId: string, containerConfig: object, podConfig: object): Promise<string> {
    const id = await this.create(podId, containerConfig, podConfig);
    await this.ok(['start', id]);
    return id;
  }

  /** Removes the config files. */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
