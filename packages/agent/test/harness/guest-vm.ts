import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../../../..');
export const IMAGES_OUT = path.join(REPO, 'images/out');

interface Manifest {
  default: { format: string; kernel: string; initrd: string; rootfsImage: string | null; kernelCmdline: string };
  formats: { disk: { initrd: string; rootfsImage: string; cmdline: string; qemu: string } };
}

/**
 * The guest image built by images/build.sh. When images/out is missing or older than the agent bundle,
 * builds the bundle and the image (several minutes the first time; cached afterwards).
 */
export function ensureGuestImage(): Manifest {
  const manifest = path.join(IMAGES_OUT, 'manifest.json');
  const build = path.join(REPO, 'images/build.sh');
  if (!existsSync(build)) throw new Error('images/build.sh is missing: the guest image cannot be built');
  const bundle = path.join(REPO, 'packages/agent/dist/kata-agent.js');
  execFileSync(process.execPath, [path.join(REPO, 'packages/agent/scripts/build-native.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(REPO, 'packages/agent/scripts/bundle.mjs')], { stdio: 'inherit' });
  // build.sh is cached on its inputs (the bundle among them): a no-op when nothing changed.
  execFileSync(build, ['-q', '--agent', bundle], { stdio: 'inherit' });
  if (!existsSync(manifest)) throw new Error(`images/build.sh did not produce ${manifest}`);
  return JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
}

export interface GuestVmOptions {
  /** Directory shared with the guest over 9p (mount tag kataShared). */
  sharedDir?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Extra kernel parameters (e.g. agent.log=debug). */
  append?: string;
  format?: 'initrd' | 'disk';
  /** Boot this initrd instead (the floor benchmark). */
  initrd?: string;
  /** Leave out the virtio-serial agent channel. */
  noChannel?: boolean;
  /**
   * VM templates (as the shim makes them): guest RAM in this file, MAP_SHARED for the template VM,
   * private for a clone; a QMP socket; a clone starts with -incoming defer and waits for its state.
   */
  template?: { memoryFile: string; shared: boolean; incoming: boolean };
  /** Extra raw disks as virtio-blk devices at these root bus slots (Kata "blk" storages name them by PCI path). */
  disks?: Array<{ file: string; slot: number }>;
  /** More QEMU arguments (appended last). */
  extraArgs?: string[];
}

export interface GuestVm {
  proc: ChildProcess;
  pid: number;
  /** Unix socket of the agent.channel.0 chardev (QEMU is the server). */
  socket: string;
  /** QMP socket (template VMs and clones). */
  qmpSocket: string;
  consoleLog: string;
  startedAt: number;
  exited: Promise<number | null>;
  /** Connects to the channel, retrying until QEMU has created the socket. */
  connect(timeoutMs?: number): Promise<net.Socket>;
  console(): string;
  /** Kills QEMU (by pid) if it still runs, and removes the temp dir. */
  kill(): Promise<void>;
}

/** Resolves with the promise's value, or 'timeout' after ms (the timer never outlives the race). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Boots the guest image with QEMU TCG (q35), the way the shim does (images/out/qemu-args.example). */
export function bootGuest(opts: GuestVmOptions = {}): GuestVm {
  const m = JSON.parse(readFileSync(path.join(IMAGES_OUT, 'manifest.json'), 'utf8')) as Manifest;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kata-vm-'));
  const socket = path.join(dir, 'agent.sock');
  const consoleLog = path.join(dir, 'console.log');
  const format = opts.format ?? (m.default.format as 'initrd' | 'disk');
  let cmdline = m.default.kernelCmdline;
  const tpl = opts.template;
  const args = ['-accel', 'tcg', '-M', tpl ? 'q35,memory-backend=mem0' : 'q35', '-m', String(opts.memoryMiB ?? 512), '-smp', String(opts.cpus ?? 1),
    '-nographic', '-no-reboot', '-nodefaults', '-serial', `file:${consoleLog}`,
    '-kernel', path.join(IMAGES_OUT, m.default.kernel)];
  if (opts.initrd) {
    args.push('-initrd', opts.initrd);
  } else if (format === 'disk') {
    args.push('-initrd', path.join(IMAGES_OUT, m.formats.disk.initrd),
      '-drive', `file=${path.join(IMAGES_OUT, m.formats.disk.rootfsImage)},if=none,id=rootfs,format=raw,readonly=on`,
      '-device', 'virtio-blk-pci,drive=rootfs');
    cmdline = `${cmdline} ${m.formats.disk.cmdline}`;
  } else {
    args.push('-initrd', path.join(IMAGES_OUT, m.default.initrd));
  }
  args.push('-append', opts.append ? `${cmdline} ${opts.append}` : cmdline);
  for (const [i, d] of (opts.disks ?? []).entries()) {
    args.push('-drive', `file=${d.file},if=none,id=disk${i},format=raw`, '-device', `virtio-blk-pci,drive=disk${i},addr=0x${d.slot.toString(16)}`);
  }
  if (tpl) {
    args.push('-object', `memory-backend-file,id=mem0,size=${opts.memoryMiB ?? 512}M,mem-path=${tpl.memoryFile},share=${tpl.shared ? 'on' : 'off'}`,
      '-device', 'vmgenid,guid=auto', '-qmp', `unix:${path.join(dir, 'qmp.sock')},server=on,wait=off`);
    if (tpl.incoming) args.push('-incoming', 'defer');
  }
  if (!opts.noChannel) {
    args.push('-device', 'virtio-serial-pci', '-chardev', `socket,path=${socket},server=on,wait=off,id=ch0`,
      '-device', 'virtserialport,chardev=ch0,name=agent.channel.0');
  }
  if (opts.sharedDir) {
    args.push('-fsdev', `local,id=fs0,path=${opts.sharedDir},security_model=none`, '-device', 'virtio-9p-pci,fsdev=fs0,mount_tag=kataShared');
  }
  args.push(...(opts.extraArgs ?? []));
  const startedAt = performance.now();
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const vm: GuestVm = {
    proc,
    pid: proc.pid!,
    socket,
    qmpSocket: path.join(dir, 'qmp.sock'),
    consoleLog,
    startedAt,
    exited,
    async connect(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return await new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(socket);
            s.once('connect', () => {
              s.removeAllListeners('error');
              resolve(s);
            });
            s.once('error', reject);
          });
        } catch (err) {
          if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`cannot connect to ${socket}: ${(err as Error).message}; qemu: ${stderr}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    },
    console() {
      try {
        return readFileSync(consoleLog, 'utf8');
      } catch {
        return '';
      }
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid!, 'SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return vm;
}
