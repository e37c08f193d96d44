import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailedPreconditionError } from '../errors';
import type { Logger } from '../logging';
import type { KernelModule } from '../proto';
import { run } from './exec';

/** The agent's effects on the machine as a whole (not on one container). */
export interface SystemOps {
  readonly inGuest: boolean;
  loadModules(modules: KernelModule[]): Promise<void>;
  setHostname(name: string): Promise<void>;
  /** Writes resolv.conf for the sandbox (and, in the guest, makes it the system's). */
  setDns(entries: string[], sandboxFile: string): Promise<void>;
  setTime(sec: number, usec: number): Promise<void>;
  /** Sets a sysctl of the guest's own namespaces (the key is already validated). */
  setSysctl(key: string, value: string): Promise<void>;
  onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void>;
  /** Ends the VM (guest) or the process (host). */
  powerOff(): Promise<void>;
}

/** resolv.conf text from Kata's dns list (entries are whole lines such as "nameserver 10.0.0.1"). */
export function resolvConf(entries: string[]): string {
  return entries.map((e) => (/^(nameserver|search|options|domain)\s/.test(e) ? e : `nameserver ${e}`)).join('\n') + '\n';
}

/** In the guest: the agent owns the VM. */
export class GuestSystem implements SystemOps {
  readonly inGuest = true;

  constructor(
    private readonly runner: () => string,
    private readonly log: Logger,
    private readonly sysRoot = '/sys',
  ) {}

  async loadModules(modules: KernelModule[]): Promise<void> {
    for (const m of modules) {
      await run('modprobe', [m.name!, ...(m.parameters ?? [])]);
      this.log.info({ module: m.name }, 'kernel module loaded');
    }
  }

  async setHostname(name: string): Promise<void> {
    await fs.writeFile('/proc/sys/kernel/hostname', name);
  }

  async setDns(entries: string[], sandboxFile: string): Promise<void> {
    await fs.mkdir(path.dirname(sandboxFile), { recursive: true });
    await fs.writeFile(sandboxFile, resolvConf(entries));
    await fs.writeFile('/etc/resolv.conf', resolvConf(entries)).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'cannot write /etc/resolv.conf');
    });
  }

  async setTime(sec: number, usec: number): Promise<void> {
    await run(this.runner(), ['settime', String(sec), String(usec)]);
  }

  async setSysctl(key: string, value: string): Promise<void> {
    await fs.writeFile(path.join('/proc/sys', ...key.split('.')), value);
    this.log.info({ key, value }, 'sysctl set');
  }

  async onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void> {
    const cpuDir = path.join(this.sysRoot, 'devices/system/cpu');
    let onlined = 0;
    for (const name of (await fs.readdir(cpuDir).catch(() => [] as string[])).filter((n) => /^cpu\d+$/.test(n))) {
      if (nbCpus > 0 && onlined >= nbCpus) break;
      const f = path.join(cpuDir, name, 'online');
      const v = await fs.readFile(f, 'utf8').catch(() => '');
      if (v.trim() === '0') {
        await fs.writeFile(f, '1');
        onlined++;
      }
    }
    if (cpuOnly) return;
    const memDir = path.join(this.sysRoot, 'devices/system/memory');
    for (const name of (await fs.readdir(memDir).catch(() => [] as string[])).filter((n) => /^memory\d+$/.test(n))) {
      const f = path.join(memDir, name, 'state');
      const v = await fs.readFile(f, 'utf8').catch(() => '');
      if (v.trim() === 'offline') await fs.writeFile(f, 'online').catch(() => undefined);
    }
  }

  async powerOff(): Promise<void> {
    await run(this.runner(), ['poweroff']).catch((err: Error) => this.log.error({ err: err.message }, 'poweroff failed'));
    // Still here: exiting makes tini exit, the kernel panic, and (panic=1, -no-reboot) QEMU end.
    process.exit(0);
  }
}

/** On a host (tests, debugging): nothing machine-wide is touched. */
export class HostSystem implements SystemOps {
  readonly inGuest = false;

  constructor(private readonly log: Logger) {}

  async loadModules(modules: KernelModule[]): Promise<void> {
    if (modules.length) this.log.info({ modules: modules.map((m) => m.name) }, 'host mode: kernel modules not loaded');
  }

  async setHostname(name: string): Promise<void> {
    this.log.info({ hostname: name }, 'host mode: hostname not set');
  }

  async setDns(entries: string[], sandboxFile: string): Promise<void> {
    await fs.mkdir(path.dirname(sandboxFile), { recursive: true });
    await fs.writeFile(sandboxFile, resolvConf(entries));
  }

  async setTime(): Promise<void> {
    throw new FailedPreconditionError('host mode: the agent does not set the clock');
  }

  async setSysctl(key: string, value: string): Promise<void> {
    this.log.info({ key, value }, 'host mode: sysctl not set');
  }

  async onlineCpuMem(): Promise<void> {
    this.log.info('host mode: nothing to online');
  }

  async powerOff(): Promise<void> {
    process.exit(0);
  }
}
