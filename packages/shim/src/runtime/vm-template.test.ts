import { defaultConfig } from '../config/config';
import type { VmSpec } from '../hypervisor/hypervisor';
import { cloneSpec, templateIneligibility } from './vm-template';

const spec: VmSpec = {
  sandboxId: 'a', dir: '/run/kata-ts/sbs/a/vm', accel: 'tcg', vcpus: 1, memoryMiB: 512, kernel: '/k',
  kernelParams: [], agentChannel: { kind: 'virtio-serial', socketPath: '/run/kata-ts/sbs/a/vm/agent.sock' },
  share: { kind: 'virtio-9p', hostPath: '/run/kata-ts/sbs/a/shared', msize: 524288 }, cpuFeatures: '', entropySource: '/dev/urandom',
};
const size = { vcpus: 1, memoryMiB: 512 };

describe('VM template eligibility', () => {
  it('clones default-sized 9p sandboxes on virtio-serial, and says why not otherwise', () => {
    const config = defaultConfig();
    expect(templateIneligibility(config, spec, size)).toBeUndefined();
    expect(templateIneligibility(config, spec, { vcpus: 2, memoryMiB: 512 })).toMatch(/size/);
    expect(templateIneligibility(config, spec, { vcpus: 1, memoryMiB: 1024 })).toMatch(/size/);
    expect(templateIneligibility(config, { ...spec, share: { kind: 'virtio-fs', socketPath: '/s' } }, size)).toMatch(/virtio-fs/);
    expect(templateIneligibility(config, { ...spec, agentChannel: { kind: 'vsock', cid: 9, port: 1024 } }, size)).toMatch(/vsock/);
    expect(templateIneligibility(config, { ...spec, nics: [{} as never] }, size)).toMatch(/hot-plug ports/);
    expect(templateIneligibility(config, { ...spec, hotplugPorts: 2, nics: [{} as never, {} as never] }, size)).toBeUndefined();
    expect(templateIneligibility(config, { ...spec, hotplugPorts: 2, nics: [{} as never, {} as never, {} as never] }, size)).toMatch(/more NICs/);
    expect(templateIneligibility({ ...config, factory: { ...config.factory, enableTemplate: false } }, spec, size)).toMatch(/enable_template/);
  });

  it('turns the sandbox spec into a clone of the template', () => {
    const clone = cloneSpec(spec, { key: 'k', dir: '/t/k', memory: '/t/k/memory', state: '/t/k/state' });
    expect(clone).toEqual({ ...spec, memoryFile: { path: '/t/k/memory', shared: false }, incoming: true, qmpSocket: '/run/kata-ts/sbs/a/vm/qmp.sock' });
  });
});
