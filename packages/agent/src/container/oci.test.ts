import { GUEST_CRUN_OCI_VERSION, ociVersionForCrun, processToOci, resourcesToOci, specToOci } from './oci';

describe('grpc.Spec → OCI config.json', () => {
  it('maps process fields and drops empty ones', () => {
    expect(processToOci({ Terminal: true, ConsoleSize: { Height: 24, Width: 80 }, User: { UID: 1, GID: 2 }, Args: ['sh'], Env: ['A=1'], Cwd: '' })).toEqual({
      terminal: true, consoleSize: { height: 24, width: 80 }, user: { uid: 1, gid: 2 }, args: ['sh'], env: ['A=1'], cwd: '/',
    });
  });

  it('maps resources, treating zero as unset', () => {
    expect(resourcesToOci({ Memory: { Limit: 1 << 20, Swap: 0 }, CPU: { Shares: 0, Quota: 50000, Period: 100000 }, Pids: { Limit: 0 } })).toEqual({
      memory: { limit: 1 << 20 }, cpu: { quota: 50000, period: 100000 },
    });
    expect(resourcesToOci({})).toBeUndefined();
  });

  it('sets root and cgroupsPath, never carries hooks', () => {
    const oci = specToOci({
      Version: '1.0.2', Process: { Args: ['true'] }, Root: { Path: '/host/path', Readonly: true },
      Hooks: { Prestart: [{ Path: '/bin/evil' }] }, Linux: { Namespaces: [{ Type: 'mount' }, { Type: 'pid', Path: '/proc/1/ns/pid' }] },
    }, '/guest/rootfs', '/kata/c1');
    expect(oci.root).toEqual({ path: '/guest/rootfs', readonly: true });
    expect(oci.hooks).toBeUndefined();
    // The default persona, always: crun's own flags (fixed layout under TCG) must not reach the workload.
    expect((oci.linux as { personality: unknown }).personality).toEqual({ domain: 'LINUX' });
    expect((oci.linux as { cgroupsPath: string }).cgroupsPath).toBe('/kata/c1');
    expect((oci.linux as { namespaces: unknown[] }).namespaces).toEqual([{ type: 'mount' }, { type: 'pid', path: '/proc/1/ns/pid' }]);
  });
});

describe('seccomp → config.json', () => {
  it('writes the filter for crun, errnoRet only where it was set', () => {
    const oci = specToOci({
      Linux: {
        Seccomp: {
          DefaultAction: 'SCMP_ACT_ERRNO', Architectures: ['SCMP_ARCH_X86_64'], Flags: [],
          Syscalls: [
            { Names: ['sethostname'], Action: 'SCMP_ACT_ERRNO', errnoret: 1 },
            { Names: ['read'], Action: 'SCMP_ACT_ALLOW', errnoret: null },
            { Names: ['clone'], Action: 'SCMP_ACT_ALLOW', Args: [{ Index: 0, Value: 2114060288, ValueTwo: 0, Op: 'SCMP_CMP_MASKED_EQ' }] },
          ],
        },
      },
    }, '/r', undefined);
    expect((oci.linux as { seccomp: unknown }).seccomp).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    });
  });

  it('writes no filter when the spec has none', () => {
    expect((specToOci({ Linux: {} }, '/r', undefined).linux as { seccomp?: unknown } | undefined)?.seccomp).toBeUndefined();
  });
});

describe('ociVersionForCrun', () => {
  it.each([
    ['1.0.2', '1.0.2'],
    ['1.1.0-rc.1', '1.1.0-rc.1'],
    ['1.2.1', GUEST_CRUN_OCI_VERSION],
    ['1.3.0', GUEST_CRUN_OCI_VERSION],
    ['2.0.0', GUEST_CRUN_OCI_VERSION],
    ['', GUEST_CRUN_OCI_VERSION],
    [undefined, GUEST_CRUN_OCI_VERSION],
  ])('writes %p as %p', (given, written) => {
    expect(ociVersionForCrun(given)).toBe(written);
  });
});
