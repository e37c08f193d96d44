import { guestSpec } from './guest-spec';
import { podPlacement, requestedSizing } from './annotations';
import type { OciSpec } from './spec';

describe('guestSpec', () => {
  it('trims the spec as Kata does and routes bind mounts through the share', async () => {
    const spec: OciSpec = {
      process: { args: ['sh'] },
      root: { path: 'rootfs', readonly: true },
      hooks: { prestart: [{ path: '/bin/evil' }] },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] },
        { destination: '/dev/kmsg', type: 'bind', source: '/dev/kmsg', options: ['bind'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'mount' }, { type: 'cgroup' }, { type: 'ipc', path: '/x' }],
        seccomp: { defaultAction: 'SCMP_ACT_ERRNO' },
        devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
        resources: { cpu: { quota: 1000, cpus: '0-3' }, pids: { limit: 5 }, devices: [{ allow: false }] },
      },
    };
    const shared: string[] = [];
    const out = await guestSpec(spec, {
      rootfs: '/run/kata-containers/shared/containers/c/rootfs',
      guestHostname: '',
      guestSeccomp: false,
      shareHostPath: async (source, _dest, ro) => (shared.push(`${source}:${ro}`), '/run/kata-containers/shared/containers/c-1-data'),
    });
    expect(out.sandboxPidns).toBe(false);
    expect(out.spec.root).toEqual({ path: '/run/kata-containers/shared/containers/c/rootfs', readonly: true });
    expect(out.spec.hooks).toBeUndefined();
    expect(out.spec.mounts?.map((m) => `${m.destination}=${m.source}`)).toEqual(['/proc=proc', '/data=/run/kata-containers/shared/containers/c-1-data']);
    expect(shared).toEqual(['/srv/data:ro']);
    expect(out.spec.linux?.namespaces).toEqual([{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }]);
    expect(out.spec.linux?.seccomp).toBeUndefined();
    expect(out.spec.linux?.devices).toBeUndefined();
    expect(out.spec.linux?.resources).toEqual({ cpu: { quota: 1000 } });
    expect(spec.hooks).toBeDefined();
  });

  it('keeps the seccomp filter for crun in the guest unless guest seccomp is disabled', async () => {
    const seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, { names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    };
    const input = { rootfs: '/r', guestHostname: '', shareHostPath: async () => '' };
    const kept = await guestSpec({ linux: { seccomp } }, { ...input, guestSeccomp: true });
    expect(kept.spec.linux?.seccomp).toEqual(seccomp);
    const dropped = await guestSpec({ linux: { seccomp } }, { ...input, guestSeccomp: false });
    expect(dropped.spec.linux?.seccomp).toBeUndefined();
  });

  it('refuses a seccomp notify listener, a host socket the guest cannot reach', async () => {
    const spec: OciSpec = { linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/seccomp-agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] } } };
    await expect(guestSpec(spec, { rootfs: '/r', guestHostname: '', guestSeccomp: true, shareHostPath: async () => '' })).rejects.toThrow(/listenerPath/);
    // With guest seccomp off the filter is dropped, listener and all.
    await expect(guestSpec(spec, { rootfs: '/r', guestHostname: '', guestSeccomp: false, shareHostPath: async () => '' })).resolves.toBeDefined();
  });

  it('turns a PID namespace path into sandbox_pidns', async () => {
    const out = await guestSpec({ linux: { namespaces: [{ type: 'pid', path: '/proc/9/ns/pid' }] } }, { rootfs: '/r', guestHostname: '', guestSeccomp: true, shareHostPath: async () => '' });
    expect(out.sandboxPidns).toBe(true);
    expect(out.spec.linux?.namespaces).toEqual([]);
  });

  it('gives a pod container that asks for the host PID namespace (no pid entry: CRI-O HostPID) the pod\'s', async () => {
    const input = { rootfs: '/r', guestHostname: '', guestSeccomp: true, shareHostPath: async () => '' };
    const hostPid: OciSpec = { linux: { namespaces: [{ type: 'ipc' }, { type: 'mount' }] } };
    expect((await guestSpec(hostPid, { ...input, podContainer: true })).sandboxPidns).toBe(true);
    // The sandbox itself, or a container that is a pod of its own, keeps a namespace of its own in the guest.
    expect((await guestSpec(hostPid, { ...input, podContainer: false })).sandboxPidns).toBe(false);
    // A pod container with a PID namespace of its own keeps it.
    expect((await guestSpec({ linux: { namespaces: [{ type: 'pid' }] } }, { ...input, podContainer: true })).sandboxPidns).toBe(false);
  });

  it('drops the hostname of a container in the guest UTS namespace when the guest already has it (CRI host network)', async () => {
    const input = { rootfs: '/r', guestHostname: 'pod-a', guestSeccomp: true, shareHostPath: async () => '' };
    // containerd's sandbox spec for a host-network pod: no UTS namespace, the pod hostname kept.
    const hostNet = await guestSpec({ hostname: 'pod-a', linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }] } }, input);
    expect(hostNet.spec.hostname).toBeUndefined();
    // A private UTS namespace keeps its hostname; a different name without one is left for crun to refuse.
    const ownUts = await guestSpec({ hostname: 'pod-a', linux: { namespaces: [{ type: 'uts' }, { type: 'mount' }] } }, input);
    expect(ownUts.spec.hostname).toBe('pod-a');
    const other = await guestSpec({ hostname: 'other', linux: { namespaces: [{ type: 'mount' }] } }, input);
    expect(other.spec.hostname).toBe('other');
  });
});

describe('pod annotations', () => {
  it('places containers by CRI and CRI-O keys', () => {
    expect(podPlacement({}, 'c')).toEqual({ kind: 'single', sandboxId: 'c' });
    expect(podPlacement({ annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'c' } }, 'c')).toEqual({ kind: 'sandbox', sandboxId: 'c' });
    expect(podPlacement({ annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 's' } }, 'c')).toEqual({ kind: 'pod-container', sandboxId: 's' });
    expect(podPlacement({ annotations: { 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.cri-o.SandboxID': 's' } }, 'c')).toEqual({ kind: 'pod-container', sandboxId: 's' });
  });

  it('sizes a pod from the sandbox annotations and a single container from its limits', () => {
    const pod: OciSpec = { annotations: { 'io.kubernetes.cri.sandbox-cpu-quota': '150000', 'io.kubernetes.cri.sandbox-cpu-period': '100000', 'io.kubernetes.cri.sandbox-memory': String(256 << 20) } };
    expect(requestedSizing(pod, 'sandbox')).toEqual({ vcpus: 2, memoryMiB: 256 });
    expect(requestedSizing({ linux: { resources: { memory: { limit: 100 << 20 } } } }, 'single')).toEqual({ vcpus: 0, memoryMiB: 100 });
  });
});
