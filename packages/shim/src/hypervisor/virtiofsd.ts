/**
 * The virtio-fs daemon serving a sandbox's shared directory. Arguments use the options both the C
 * virtiofsd (QEMU ≤ 7) and the Rust one accept: --socket-path, -o source=, -o cache=.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Logger } from '../framework/logging';
import { LimitedLogger } from '../framework/logging';
import { LineTail } from './process-output';

export interface VirtiofsdOptions {
  binary: string;
  socketPath: string;
  sharedDir: string;
  cache: string;
  extraArgs: string[];
  log: Logger;
}

export function virtiofsdArgs(o: Pick<VirtiofsdOptions, 'socketPath' | 'sharedDir' | 'cache' | 'extraArgs'>): string[] {
  return [`--socket-path=${o.socketPath}`, '-o', `source=${o.sharedDir}`, '-o', `cache=${o.cache}`, ...o.extraArgs];
}

export class Virtiofsd {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<void> = Promise.resolve();

  constructor(private readonly options: VirtiofsdOptions) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** Starts the daemon and waits (up to 5 s) for its socket. */
  async start(): Promise<void> {
    const o = this.options;
    const limited = new LimitedLogger(o.log);
    const child = spawn(o.binary, virtiofsdArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const tail = new LineTail(child.stderr, (line) => limited.warn({ line }, 'virtiofsd'));
    let exited = false;
    this.exitedPromise = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.once('error', (err) => o.log.error({ err: err.message }, 'virtiofsd failed to start'));
    for (let i = 0; i < 250; i++) {
      if (exited) throw new Error(`virtiofsd exited: ${tail.lines().join(' | ')}`);
      if (await fs.stat(o.socketPath).then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`virtiofsd did not create ${o.socketPath} in 5 s`);
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exitedPromise;
  }
}
