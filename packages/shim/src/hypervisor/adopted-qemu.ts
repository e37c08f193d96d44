/**
 * A QEMU the shim did not start: a warm pool VM handed over by `kata-ts factory serve` (see
 * pool/). The factory stays its parent (and reaps it); the shim drives it through its QMP socket,
 * whose single connection it holds for the VM's life: when that connection drops, QEMU is gone.
 * The agent channel is QEMU's own chardev server (qemuListens), dialled like any unix socket.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../framework/logging';
import type { Hypervisor, VmExit } from './hypervisor';
import { hotplugDimm } from './memory-hotplug';
import { QmpClient } from './qmp';
import { dialUnix } from './unix-dial';
import { CONSOLE_SOCKET, LOG_SOCKET } from './qemu-args';
import path from 'node:path';
import { processArgv } from '../framework/pid-alive';
import { promises as fs } from 'node:fs';

/** What the pool tells the shim about the VM it hands over. */
export interface AdoptedVm {
  qemuPid: number;
  /** QEMU's -name: proves the pid still is that QEMU before it is signalled. */
  name: string;
  qmpSocket: string;
  agentSocket: string;
}

const QMP_TIMEOUT_MS = 30_000;
/** How long QEMU may linger after its QMP connection dropped before it counts as gone anyway. */
const EXIT_POLL_MS = 5_000;

export class AdoptedQemu implements Hypervisor {
  private qmp: QmpClient | undefined;
  private exitResolve!: (e: VmExit) => void;
  readonly exited: Promise<VmExit> = new Promise((resolve) => (this.exitResolve = resolve));
  private stopping: Promise<void> | undefined;
  private dimms = 0;

  constructor(private readonly vm: AdoptedVm, private readonly log: Logger) {}

  get pid(): number {
    return this.vm.qemuPid;
  }

  get name(): string {
    return this.vm.name;
  }

  async start(): Promise<void> {
    if (!(await this.isOurs())) throw new Error(`pool VM ${this.vm.name} (pid ${this.vm.qemuPid}) is not running`);
    const qmp = await QmpClient.connect(this.vm.qmpSocket, QMP_TIMEOUT_MS);
    this.qmp = qmp;
    void qmp.closed.then(async () => {
      // QMP closes while QEMU is still exiting (its other descriptors, e.g. files of the share, may
      // be open yet): it has ended once it is gone or a zombie (which holds no descriptors).
      const deadline = Date.now() + EXIT_POLL_MS;
      while (!(await this.ended()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      this.log.info({ subsystem: 'qemu', qemuPid: this.vm.qemuPid }, 'pool VM QEMU exited');
      this.exitResolve({ code: null, signal: null });
    });
    this.log.info({ subsystem: 'qemu', qemuPid: this.vm.qemuPid, vm: this.vm.name }, 'adopted a warm pool VM');
  }

  connectAgent(timeoutMs: number): Promise<Duplex> {
    return dialUnix(this.vm.agentSocket, timeoutMs);
  }

  /** The pool launched its VMs from buildVmSpec too: the log socket sits beside the agent's. */
  connectLog(timeoutMs: number): Promise<Duplex | undefined> {
    return dialUnix(path.join(path.dirname(this.vm.agentSocket), LOG_SOCKET), timeoutMs);
  }

  /**
   * Beside the agent's too, when the VM has the port: the pool VM's template key, which the shim
   * checked before adopting it, includes the console port, so it has one exactly when this sandbox's spec does.
   */
  connectConsole(timeoutMs: number): Promise<Duplex | undefined> {
    return dialUnix(path.join(path.dirname(this.vm.agentSocket), CONSOLE_SOCKET), timeoutMs);
  }

  helperPids(): number[] {
    return [];
  }

  diagnostics(): string[] {
    return [];
  }

  async addMemory(mib: number): Promise<void> {
    if (!this.qmp) throw new Error('the pool VM is not adopted yet');
    await hotplugDimm(this.qmp, this.dimms++, mib, QMP_TIMEOUT_MS);
  }

  /** True once the QEMU is gone, a zombie, or its pid belongs to another program. */
  private async ended(): Promise<boolean> {
    const stat = await fs.readFile(`/proc/${this.vm.qemuPid}/stat`, 'utf8').catch(() => '');
    // The state is the field after the parenthesised command name (which may itself hold spaces).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (!stat || state === 'Z' || state === 'X') return true;
    const argv = await processArgv(this.vm.qemuPid);
    return argv.length > 0 && !argv.includes(this.vm.name);
  }

  /** Whether the pid still runs the QEMU that was handed over (pids get reused). */
  private async isOurs(): Promise<boolean> {
    return (await processArgv(this.vm.qemuPid)).includes(this.vm.name);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (await this.isOurs()) {
        try {
          process.kill(this.vm.qemuPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      if (this.qmp) await this.exited;
      else this.exitResolve({ code: null, signal: 'SIGKILL' });
    })();
    return this.stopping;
  }
}
