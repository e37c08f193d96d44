/**
 * The QEMU command line for a sandbox VM (pure: same VmSpec, same argv). Machine q35 (never
 * microvm: it cannot calibrate its TSC under TCG); console on the serial port, read from QEMU's
 * stdout; the agent on a virtio-serial port named agent.channel.0 whose chardev connects to a
 * socket the shim listens on, or on vhost-vsock; the shared directory as 9p or virtio-fs with
 * mount tag kataShared.
 */
import path from 'node:path';
import type { VmSpec } from './hypervisor';
import { hotplugPortArgs } from './nic-hotplug';
import { nicArgs } from './qemu-nic-args';

export const AGENT_PORT_NAME = 'agent.channel.0';
/** The virtio-serial port the agent writes its log lines to (the console stays the kernel's). */
export const LOG_PORT_NAME = 'agent.log.0';
/** Its socket in the VM directory (a pool VM's too: a shim adopting one finds it there). */
export const LOG_SOCKET = 'agent-log.sock';
/** The debug console's virtio-serial port (kata-ts exec), only when the configuration enables it. */
export const CONSOLE_PORT_NAME = 'agent.console.0';
/** Its socket in the VM directory, served by QEMU like the log port's. */
export const CONSOLE_SOCKET = 'console.sock';
export const SHARE_MOUNT_TAG = 'kataShared';

/** Files QEMU keeps in the VM directory. */
export function qemuFiles(dir: string): { pidFile: string } {
  return { pidFile: path.join(dir, 'qemu.pid') };
}

/** QEMU option values escape commas by doubling them. */
function optValue(value: string): string {
  return value.replace(/,/g, ',,');
}

export function qemuArgs(spec: VmSpec): string[] {
  const kvm = spec.accel === 'kvm';
  if (spec.memoryFile && spec.share.kind === 'virtio-fs') throw new Error('a memory file (VM template) and virtio-fs cannot be combined');
  const tbSize = spec.accel === 'tcg' ? spec.tcgTbSizeMiB : undefined;
  const memoryBackend = spec.memoryFile ? ',memory-backend=mem0' : '';
  const args: string[] = [
    '-name', `sandbox-${spec.sandboxId}`,
    // -accel (needed for tb-size) and -machine accel= cannot be combined: one or the other.
    ...(tbSize ? ['-machine', `q35${memoryBackend}`, '-accel', `tcg,tb-size=${tbSize}`] : ['-machine', `q35,accel=${spec.accel}${memoryBackend}`]),
    '-cpu', kvm ? ['host', spec.cpuFeatures].filter(Boolean).join(',') : 'max',
    '-m', spec.maxMemoryMiB && spec.maxMemoryMiB > spec.memoryMiB && spec.memorySlots
      ? `${spec.memoryMiB}M,slots=${spec.memorySlots},maxmem=${spec.maxMemoryMiB}M`
      : `${spec.memoryMiB}M`,
    '-smp', `${spec.vcpus}`,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-rtc', 'base=utc,driftfix=slew,clock=host',
    '-pidfile', qemuFiles(spec.dir).pidFile,
    '-chardev', 'stdio,id=console0,signal=off',
    '-serial', 'chardev:console0',
    '-kernel', spec.kernel,
  ];
  if (kvm) args.push('-global', 'kvm-pit.lost_tick_policy=discard');
  if (spec.memoryFile) {
    const { path: memPath, shared } = spec.memoryFile;
    args.push('-object', `memory-backend-file,id=mem0,size=${spec.memoryMiB}M,mem-path=${optValue(memPath)},share=${shared ? 'on' : 'off'}`);
    // A VM generation id that changes with every QEMU start: when a clone resumes, the guest kernel
    // sees it change and reseeds its random number generator (the clones share the template's state).
    args.push('-device', 'vmgenid,guid=auto');
  }
  if (spec.qmpSocket) args.push('-qmp', `unix:${optValue(spec.qmpSocket)},server=on,wait=off`);
  if (spec.incoming) args.push('-incoming', 'defer');
  if (spec.firmware) args.push('-bios', spec.firmware);
  if (spec.initrd) args.push('-initrd', spec.initrd);
  args.push('-append', spec.kernelParams.join(' '));

  if (spec.image) {
    args.push(
      '-drive', `file=${optValue(spec.image)},if=none,id=rootfs,format=raw,readonly=on`,
      '-device', 'virtio-blk-pci,drive=rootfs',
    );
  }

  args.push('-object', `rng-random,id=rng0,filename=${optValue(spec.entropySource)}`, '-device', 'virtio-rng-pci,rng=rng0');
  if (spec.freePageReporting) args.push('-device', 'virtio-balloon-pci,id=balloon0,free-page-reporting=on');

  const channel = spec.agentChannel;
  if (channel.kind === 'virtio-serial' || spec.logSocket || spec.consoleSocket) args.push('-device', 'virtio-serial-pci,id=serial0');
  if (channel.kind === 'virtio-serial') {
    args.push(
      '-chardev', `socket,id=agent0,path=${optValue(channel.socketPath)}${channel.qemuListens ? ',server=on,wait=off' : ''}`,
      '-device', `virtserialport,bus=serial0.0,chardev=agent0,name=${AGENT_PORT_NAME}`,
    );
  } else {
    args.push('-device', `vhost-vsock-pci,id=vsock0,guest-cid=${channel.cid}`);
  }
  if (spec.logSocket) {
    // QEMU serves it: whoever owns the VM (its shim, or a shim adopting a pool VM) connects when it
    // wants the lines; with nobody connected the guest's writes are dropped, never blocked.
    args.push(
      '-chardev', `socket,id=log0,path=${optValue(spec.logSocket)},server=on,wait=off`,
      '-device', `virtserialport,bus=serial0.0,chardev=log0,name=${LOG_PORT_NAME}`,
    );
  }
  if (spec.consoleSocket) {
    // Served by QEMU for the same reason: the shim (of this VM or of one adopting it) dials it per session.
    args.push(
      '-chardev', `socket,id=dbgcon0,path=${optValue(spec.consoleSocket)},server=on,wait=off`,
      '-device', `virtserialport,bus=serial0.0,chardev=dbgcon0,name=${CONSOLE_PORT_NAME}`,
    );
  }

  const share = spec.share;
  if (share.kind === 'virtio-9p') {
    args.push(
      '-fsdev', `local,id=fs0,path=${optValue(share.hostPath)},security_model=none,multidevs=remap`,
      '-device', `virtio-9p-pci,fsdev=fs0,mount_tag=${SHARE_MOUNT_TAG}`,
    );
  } else {
    // vhost-user needs the guest memory in a shared file mapping.
    args.push(
      '-object', `memory-backend-file,id=mem0,size=${spec.memoryMiB}M,mem-path=/dev/shm,share=on`,
      '-numa', 'node,memdev=mem0',
      '-chardev', `socket,id=vfs0,path=${optValue(share.socketPath)}`,
      '-device', `vhost-user-fs-pci,chardev=vfs0,tag=${SHARE_MOUNT_TAG},queue-size=1024`,
    );
  }
  args.push(...hotplugPortArgs(spec.hotplugPorts ?? 0));
  // A clone gets its NICs hot-plugged after it resumes (nic-hotplug.ts): its devices are the template's.
  if (!spec.incoming) args.push(...nicArgs(spec.nics ?? []));
  return args;
}
