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
  constructor(readonly endpoint: string, private readonly netnsPath?: string, private readonly program = crictlPath() ?? 'crictl') {}

  /** The argv that runs crictl against this endpoint (inside the daemon's netns, if any). */
  argv(args: readonly string[]): string[] {
    const crictl = [this.program, '--runtime-endpoint', this.endpoint, '--image-endpoint', this.endpoint, '--timeout', '180s', ...args];
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

  /** Runs crictl with `-o json` appended and parses the output. */
  async json<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, '-o', 'json'])) as T;
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

  /** `crictl create` (never pulling: images are imported) then `crictl start`; returns the container id. */
  async createAndStart(podId: string, containerConfig: object, podConfig: object): Promise<string> {
    const id = (await this.ok(['create', '--no-pull', podId, this.writeConfig(containerConfig), this.writeConfig(podConfig)])).trim();
    await this.ok(['start', id]);
    return id;
  }

  /** Removes the config files. */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
