import { defaultConfig } from '../config/config';
import { buildVmSpec, chooseAgentChannel, vmSizing } from './vm-config';

describe('VM settings', () => {
  it('adds the requested sizing to the defaults and caps vCPUs at default_maxvcpus and the host', () => {
    const c = defaultConfig();
    expect(vmSizing(c, { vcpus: 0, memoryMiB: 0 }, 8)).toEqual({ vcpus: 1, memoryMiB: 512 });
    expect(vmSizing(c, { vcpus: 2, memoryMiB: 256 }, 8)).toEqual({ vcpus: 3, memoryMiB: 768 });
    expect(vmSizing(c, { vcpus: 16, memoryMiB: 0 }, 4).vcpus).toBe(4);
    c.hypervisor.defaultMaxVcpus = 2;
    expect(vmSizing(c, { vcpus: 16, memoryMiB: 0 }, 4).vcpus).toBe(2);
  });

  it('uses vhost-vsock only when the host has it', () => {
    expect(chooseAgentChannel('/vm', false)).toEqual({ kind: 'virtio-serial', socketPath: '/vm/agent.sock' });
    const vsock = chooseAgentChannel('/vm', true);
    expect(vsock).toMatchObject({ kind: 'vsock', port: 1024 });
    expect((vsock as { cid: number }).cid).toBeGreaterThanOrEqual(3);
  });

  it('builds the spec: 9p unless a virtiofsd is configured, an image as root, debug kernel params', () => {
    const c = defaultConfig();
    const input = { config: c, sandboxId: 's', sandboxDir: '/run/kata-ts/sbs/s', sharedDir: '/run/kata-ts/sbs/s/shared', accel: 'tcg' as const, sizing: { vcpus: 1, memoryMiB: 512 }, agentChannel: chooseAgentChannel('/x', false) };
    const spec = buildVmSpec(input);
    expect(spec).toMatchObject({ dir: '/run/kata-ts/sbs/s/vm', share: { kind: 'virtio-9p', hostPath: '/run/kata-ts/sbs/s/shared' }, image: undefined });
    expect(spec.kernelParams).toContain('quiet');
    expect(spec.consoleSocket).toBeUndefined();
    c.agent.debugConsoleEnabled = true;
    expect(buildVmSpec(input).consoleSocket).toBe('/run/kata-ts/sbs/s/vm/console.sock');
    c.hypervisor.sharedFs = 'virtio-fs';
    expect(buildVmSpec(input).share.kind).toBe('virtio-9p');
    c.hypervisor.virtioFsDaemon = '/usr/libexec/virtiofsd';
    c.hypervisor.image = '/a/root.erofs';
    c.agent.enableDebug = true;
    const vfs = buildVmSpec(input);
    expect(vfs.share).toEqual({ kind: 'virtio-fs', socketPath: '/run/kata-ts/sbs/s/vm/vhost-fs.sock' });
    expect(vfs.kernelParams).toEqual(expect.arrayContaining(['root=/dev/vda', 'rootfstype=erofs', 'agent.log=debug']));
  });
});
