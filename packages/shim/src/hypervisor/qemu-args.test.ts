import type { VmSpec } from './hypervisor';
import { kernelParams } from './kernel-params';
import { qemuArgs } from './qemu-args';

const base: VmSpec = {
  sandboxId: 'sb1', dir: '/run/kata-ts/sbs/sb1/vm', accel: 'tcg', vcpus: 2, memoryMiB: 640,
  kernel: '/k/vmlinux', initrd: '/k/initrd.img', kernelParams: ['console=ttyS0', 'quiet'],
  agentChannel: { kind: 'virtio-serial', socketPath: '/run/kata-ts/sbs/sb1/vm/agent.sock' },
  share: { kind: 'virtio-9p', hostPath: '/run/kata-ts/sbs/sb1/shared', msize: 524288 },
  cpuFeatures: 'pmu=off', entropySource: '/dev/urandom',
};

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

describe('qemuArgs', () => {
  it('boots q35 under TCG with the agent on a virtio-serial port and the share over 9p', () => {
    const args = qemuArgs(base);
    expect(after(args, '-machine')).toEqual(['q35,accel=tcg']);
    expect(after(args, '-cpu')).toEqual(['max']);
    expect(after(args, '-m')).toEqual(['640M']);
    expect(after(qemuArgs({ ...base, maxMemoryMiB: 4096, memorySlots: 10 }), '-m')).toEqual(['640M,slots=10,maxmem=4096M']);
    expect(after(args, '-smp')).toEqual(['2']);
    expect(args).toEqual(expect.arrayContaining(['-nodefaults', '-no-reboot', '-nographic']));
    expect(after(args, '-append')).toEqual(['console=ttyS0 quiet']);
    expect(after(args, '-chardev')).toContain('socket,id=agent0,path=/run/kata-ts/sbs/sb1/vm/agent.sock');
    expect(after(args, '-device')).toContain('virtserialport,bus=serial0.0,chardev=agent0,name=agent.channel.0');
    expect(after(args, '-fsdev')).toEqual(['local,id=fs0,path=/run/kata-ts/sbs/sb1/shared,security_model=none,multidevs=remap']);
    expect(after(args, '-device')).toContain('virtio-9p-pci,fsdev=fs0,mount_tag=kataShared');
    expect(args.join(' ')).not.toMatch(/microvm|vhost-vsock/);
    // A TCG translation buffer size moves the accelerator to -accel (the two forms do not combine).
    const capped = qemuArgs({ ...base, tcgTbSizeMiB: 64 });
    expect(after(capped, '-machine')).toEqual(['q35']);
    expect(after(capped, '-accel')).toEqual(['tcg,tb-size=64']);
    expect(after(qemuArgs({ ...base, accel: 'kvm', tcgTbSizeMiB: 64 }), '-machine')).toEqual(['q35,accel=kvm']);
    // Free page reporting is a balloon device, only when asked for.
    expect(qemuArgs(base).join(' ')).not.toContain('virtio-balloon');
    expect(qemuArgs({ ...base, freePageReporting: true }).join(' ')).toContain('virtio-balloon-pci,id=balloon0,free-page-reporting=on');
    // The guest log port: QEMU serves its socket; with a vsock agent channel the serial bus is still there.
    expect(args.join(' ')).not.toContain('agent.log.0');
    const logged = qemuArgs({ ...base, logSocket: '/run/kata-ts/sbs/sb1/vm/agent-log.sock' });
    expect(after(logged, '-chardev')).toContain('socket,id=log0,path=/run/kata-ts/sbs/sb1/vm/agent-log.sock,server=on,wait=off');
    expect(after(logged, '-device')).toContain('virtserialport,bus=serial0.0,chardev=log0,name=agent.log.0');
    const vsockLogged = qemuArgs({ ...base, agentChannel: { kind: 'vsock', cid: 3, port: 1024 }, logSocket: '/s/agent-log.sock' });
    expect(after(vsockLogged, '-device').filter((d) => d.startsWith('virtio-serial-pci'))).toEqual(['virtio-serial-pci,id=serial0']);
    expect(after(vsockLogged, '-device')).toContain('virtserialport,bus=serial0.0,chardev=log0,name=agent.log.0');
    // The debug console's port exists only when its socket is set (debug_console_enabled).
    expect(args.join(' ')).not.toContain('agent.console.0');
    const withConsole = qemuArgs({ ...base, agentChannel: { kind: 'vsock', cid: 3, port: 1024 }, consoleSocket: '/s/console.sock' });
    expect(after(withConsole, '-chardev')).toContain('socket,id=dbgcon0,path=/s/console.sock,server=on,wait=off');
    expect(after(withConsole, '-device')).toEqual(expect.arrayContaining(['virtio-serial-pci,id=serial0', 'virtserialport,bus=serial0.0,chardev=dbgcon0,name=agent.console.0']));
  });

  it('uses -cpu host under KVM, vhost-vsock, virtio-fs with shared memory, and an image as /dev/vda', () => {
    const args = qemuArgs({
      ...base, accel: 'kvm', image: '/k/root,img', initrd: undefined,
      agentChannel: { kind: 'vsock', cid: 7, port: 1024 },
      share: { kind: 'virtio-fs', socketPath: '/v/fs.sock' },
    });
    expect(after(args, '-cpu')).toEqual(['host,pmu=off']);
    expect(after(args, '-device')).toContain('vhost-vsock-pci,id=vsock0,guest-cid=7');
    expect(after(args, '-object')).toContain('memory-backend-file,id=mem0,size=640M,mem-path=/dev/shm,share=on');
    expect(after(args, '-device')).toContain('vhost-user-fs-pci,chardev=vfs0,tag=kataShared,queue-size=1024');
    expect(after(args, '-drive')).toEqual(['file=/k/root,,img,if=none,id=rootfs,format=raw,readonly=on']);
    expect(args).not.toContain('-initrd');
  });

  it('maps a template clone RAM privately from the template file and waits for its device state', () => {
    const clone = qemuArgs({ ...base, memoryFile: { path: '/run/t/memory', shared: false }, incoming: true, qmpSocket: '/run/s/qmp.sock' });
    expect(after(clone, '-machine')).toEqual(['q35,accel=tcg,memory-backend=mem0']);
    expect(after(clone, '-object')).toContain('memory-backend-file,id=mem0,size=640M,mem-path=/run/t/memory,share=off');
    expect(after(clone, '-device')).toContain('vmgenid,guid=auto');
    expect(after(clone, '-qmp')).toEqual(['unix:/run/s/qmp.sock,server=on,wait=off']);
    expect(after(clone, '-incoming')).toEqual(['defer']);
    const template = qemuArgs({ ...base, memoryFile: { path: '/run/t/memory', shared: true }, qmpSocket: '/run/t/qmp.sock' });
    expect(after(template, '-object')).toContain('memory-backend-file,id=mem0,size=640M,mem-path=/run/t/memory,share=on');
    expect(template).not.toContain('-incoming');
    expect(qemuArgs(base)).not.toContain('-qmp');
    // Template VMs and clones carry empty root ports; a clone's NICs are hot-plugged, not on its command line.
    const nic = { id: 'net0', tap: 'tap0_kata', mac: '02:00:00:00:00:01', vhost: false, pciSlot: 0x10 };
    const withNic = qemuArgs({ ...base, hotplugPorts: 2, nics: [nic], memoryFile: { path: '/run/t/memory', shared: false }, incoming: true, qmpSocket: '/q' });
    expect(after(withNic, '-device')).toEqual(expect.arrayContaining(['pcie-root-port,id=hp0,bus=pcie.0,chassis=1,addr=0x18', 'pcie-root-port,id=hp1,bus=pcie.0,chassis=2,addr=0x19']));
    expect(withNic).not.toContain('-netdev');
    expect(qemuArgs({ ...base, nics: [nic] })).toContain('-netdev');
    expect(() => qemuArgs({ ...base, memoryFile: { path: '/m', shared: false }, share: { kind: 'virtio-fs', socketPath: '/v' } })).toThrow(/virtio-fs/);
  });

  it('composes the kernel command line with the user params last', () => {
    const p = kernelParams({ debug: false, agentDebug: true, rootfsType: 'erofs', user: 'a=1  b=2' });
    expect(p).toEqual(expect.arrayContaining(['console=ttyS0', 'quiet', 'panic=1', 'root=/dev/vda', 'rootfstype=erofs', 'agent.log=debug']));
    expect(p.slice(-2)).toEqual(['a=1', 'b=2']);
    expect(kernelParams({ debug: true, agentDebug: false, user: '' })).toContain('debug');
  });

  it('asks the agent for crun at fixed addresses under TCG only', () => {
    expect(kernelParams({ debug: false, agentDebug: false, user: '', tcg: true })).toContain('kata_ts.crun_fixed_layout=1');
    expect(kernelParams({ debug: false, agentDebug: false, user: '', tcg: false })).not.toContain('kata_ts.crun_fixed_layout=1');
  });
});
