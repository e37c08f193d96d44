/**
 * The warm VM pool (Kata's VM cache, [factory] vm_cache_number), run by `kata-ts factory serve`:
 * keeps `size` pool VMs ready (pool-vm.ts), one started at a time at low CPU priority; hands each
 * to exactly one shim (take), after which the factory only reaps it; kills a handed-over VM whose
 * shim never took a lease on it, or whose lease connection closed (the shim died).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { ShimConfig } from '../config/config';
import { messageOf } from '../errors';
import type { Logger } from '../framework/logging';
import { processArgv } from '../framework/pid-alive';
import { removeTree } from '../fs/safe-remove';
import { chooseAccel } from '../hypervisor/accel';
import type { TemplateFiles } from '../hypervisor/template-store';
import { buildVmSpec, chooseAgentChannel, vmSizing } from '../runtime/vm-config';
import { obtainTemplate, templateIneligibility } from '../runtime/vm-template';
import { PoolVm } from './pool-vm';
import type { PooledVm, PoolStatus } from './pool-protocol';

/** A handed-over VM whose shim has not leased it by then is killed (its shim never came up). */
const LEASE_WAIT_MS = 60_000;
/** How many times (a second apart) a dead VM's directory removal is tried. */
const REMOVE_ATTEMPTS = 60;
/** Pause before the next start after a failed one. */
const RETRY_AFTER_FAILURE_MS = 10_000;

export interface VmPoolOptions {
  config: ShimConfig;
  size: number;
  /** Where pool VM directories live (0700). */
  dir: string;
  log: Logger;
}

export class VmPool {
  private readonly ready: PoolVm[] = [];
  private readonly handedOver = new Map<string, { vm: PoolVm; leaseTimer?: NodeJS.Timeout }>();
  private starting = 0;
  private template: TemplateFiles | undefined;
  private specFor: ((name: string, dir: string) => ReturnType<typeof buildVmSpec>) | undefined;
  private problem: string | undefined;
  private lastError: string | undefined;
  private filling: Promise<void> | undefined;
  private closed = false;
  private seq = 0;

  constructor(private readonly options: VmPoolOptions) {}

  /** Finds the template (making it if needed) and removes what a previous factory left; then fills. */
  async start(): Promise<void> {
    const { config, log } = this.options;
    await this.removeStaleDirs();
    const h = config.hypervisor;
    const accel = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir });
    const sizing = vmSizing(config, { vcpus: 0, memoryMiB: 0 });
    const specFor = (name: string, dir: string) =>
      buildVmSpec({ config, sandboxId: name, sandboxDir: dir, sharedDir: path.join(dir, 'shared'), accel: accel.accel, sizing, agentChannel: chooseAgentChannel(path.join(dir, 'vm')) });
    const probe = specFor('pool-probe', path.join(this.options.dir, 'probe'));
    this.problem = templateIneligibility(config, probe, sizing);
    if (this.problem) {
      log.warn({ reason: this.problem }, 'the pool stays empty: its VMs are template clones');
      return;
    }
    this.template = await obtainTemplate({ config, spec: probe, log });
    this.specFor = specFor;
    log.info({ size: this.options.size, template: this.template.key, accel: accel.accel }, 'VM pool started');
    this.kick();
  }

  /** Hands a ready VM to the shim of `sandboxId`, or says why there is none. */
  take(sandboxId: string): PooledVm | { reason: string } {
    if (this.problem) return { reason: this.problem };
    let vm: PoolVm | undefined;
    while ((vm = this.ready.shift())) {
      if (this.isAlive(vm)) break;
    }
    this.kick();
    if (!vm) return { reason: this.starting > 0 ? 'no pool VM is ready yet' : 'the pool is empty' };
    const entry: { vm: PoolVm; leaseTimer?: NodeJS.Timeout } = { vm };
    entry.leaseTimer = setTimeout(() => this.kill(vm, 'its shim never leased it'), LEASE_WAIT_MS);
    entry.leaseTimer.unref();
    this.handedOver.set(vm.handover.name, entry);
    void vm.promote();
    this.options.log.info({ vm: vm.name, sandbox: sandboxId, qemuPid: vm.hypervisor.pid, waitedMs: Date.now() - vm.readyAt }, 'pool VM handed over');
    return vm.handover;
  }

  /** The shim owning `name` holds `socket` open while it lives; when it closes, the VM goes. */
  lease(name: string, socket: Socket): boolean {
    const entry = this.handedOver.get(name);
    if (!entry) return false;
    clearTimeout(entry.leaseTimer);
    socket.once('close', () => this.kill(entry.vm, 'its shim went away'));
    return true;
  }

  status(): PoolStatus {
    return {
      pid: process.pid,
      target: this.options.size,
      ready: this.ready.map((vm) => ({ name: vm.name, qemuPid: vm.hypervisor.pid, readyMs: vm.startMs })),
      starting: this.starting,
      handedOver: this.handedOver.size,
      key: this.template?.key ?? '',
      problem: this.problem,
      lastError: this.lastError,
    };
  }

  /**
   * Stops the VMs still waiting (and one being started) and removes their directories; handed-over
   * ones stay with their shims. The removal runs when each QEMU's exit is seen (onExit): close waits
   * for it, or `kata-ts factory serve` exited first and left the vm-cache/pool-… directories (sockets, qemu.pid,
   * mount points) behind until the next factory's start.
   */
  async close(): Promise<void> {
    this.closed = true;
    const waiting = this.ready.splice(0);
    await Promise.all(waiting.map((vm) => vm.hypervisor.stop()));
    await this.filling;
    await Promise.all([...this.exits].filter(([vm]) => !this.handedOver.has(vm.handover.name)).map(([, done]) => done));
  }

  /** Each pool VM's exit handling (onExit: its directory removed), until it is done. */
  private readonly exits = new Map<PoolVm, Promise<void>>();

  private isAlive(vm: PoolVm): boolean {
    return vm.hypervisor.pid > 0 && !this.exitedVms.has(vm);
  }

  private readonly exitedVms = new WeakSet<PoolVm>();

  private kick(): void {
    if (this.filling || this.closed || !this.template) return;
    this.filling = this.fill().finally(() => (this.filling = undefined));
  }

  private async fill(): Promise<void> {
    while (!this.closed && this.ready.length < this.options.size) {
      const name = `pool-${Date.now().toString(36)}-${this.seq++}`;
      const dir = path.join(this.options.dir, name);
      this.starting++;
      try {
        const vm = await PoolVm.start({ config: this.options.config, specFor: this.specFor!, template: this.template!, dir, name, log: this.options.log });
        const exit = vm.hypervisor.exited.then(() => this.onExit(vm)).finally(() => this.exits.delete(vm));
        this.exits.set(vm, exit);
        if (this.closed) await vm.hypervisor.stop();
        else this.ready.push(vm);
        this.options.log.info({ vm: name, ms: vm.startMs, ready: this.ready.length }, 'pool VM ready');
      } catch (err) {
        this.lastError = messageOf(err);
        this.options.log.warn({ vm: name, err: this.lastError }, 'starting a pool VM failed');
        await removeTree(dir).catch(() => undefined);
        await new Promise((r) => setTimeout(r, RETRY_AFTER_FAILURE_MS));
      } finally {
        this.starting--;
      }
    }
  }

  private kill(vm: PoolVm, why: string): void {
    if (this.exitedVms.has(vm)) return;
    this.options.log.info({ vm: vm.name, why }, 'stopping a pool VM');
    void vm.hypervisor.stop();
  }

  private async onExit(vm: PoolVm): Promise<void> {
    this.exitedVms.add(vm);
    const i = this.ready.indexOf(vm);
    if (i >= 0) {
      this.ready.splice(i, 1);
      this.options.log.warn({ vm: vm.name }, 'a waiting pool VM died');
    }
    const entry = this.handedOver.get(vm.handover.name);
    if (entry) {
      clearTimeout(entry.leaseTimer);
      this.handedOver.delete(vm.handover.name);
    }
    // A handed-over VM's shim may still be taking its share's mounts apart (in the VM's mount
    // namespace, where they keep the directories busy): try again for a while.
    let left: string[] = [];
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      left = await removeTree(vm.dir).catch((err: Error) => [err.message]);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (left.length > 0) this.options.log.warn({ vm: vm.name, left }, 'pool VM directory not fully removed');
    this.kick();
  }

  /** Removes pool directories no running QEMU belongs to (a previous factory's). */
  private async removeStaleDirs(): Promise<void> {
    const names = (await readdir(this.options.dir).catch(() => [] as string[])).filter((n) => n.startsWith('pool-'));
    if (names.length === 0) return;
    const running = new Set<string>();
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      for (const a of await processArgv(Number(pid))) if (a.startsWith('sandbox-pool-')) running.add(a.slice('sandbox-'.length));
    }
    for (const name of names) if (!running.has(name)) await removeTree(path.join(this.options.dir, name)).catch(() => undefined);
  }
}
