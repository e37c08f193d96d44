import { agent } from '@kata-ts/protocol/kata';
import { exitStatusFromPb, seccompToPb, specToPb } from './trans';
import type { OciLinuxSeccomp } from '../oci/spec';

/** What the agent decodes from the wire (the seccomp part of a CreateContainer spec). */
function overTheWire(seccomp: OciLinuxSeccomp) {
  const bytes = agent.Spec.encode(specToPb({ linux: { seccomp } })).finish();
  const decoded = agent.Spec.decode(bytes).Linux?.Seccomp;
  if (!decoded) throw new Error('no Seccomp in the decoded spec');
  // The decoded messages themselves: ErrnoRet (which member of the oneof is set) is a prototype getter.
  return { ...decoded, Syscalls: decoded.Syscalls ?? [] };
}

describe('seccomp → oci.proto', () => {
  const profile: OciLinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 0 },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  };

  it('carries the whole filter', () => {
    const decoded = overTheWire(profile);
    expect(decoded.DefaultAction).toBe('SCMP_ACT_ERRNO');
    expect(decoded.Architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect(decoded.Flags).toEqual(['SECCOMP_FILTER_FLAG_LOG']);
    expect(decoded.Syscalls.map((s) => [s.Names, s.Action])).toEqual(profile.syscalls!.map((s) => [s.names, s.action]));
    expect(decoded.Syscalls[3]?.Args).toEqual([expect.objectContaining({ Index: 0, Value: 0xffffffff, ValueTwo: 0, Op: 'SCMP_CMP_EQ' })]);
    expect(decoded.Syscalls[4]?.Args?.[0]).toMatchObject({ Value: 2114060288, Op: 'SCMP_CMP_MASKED_EQ' });
  });

  it('keeps an unset errnoRet unset and an explicit 0 as 0', () => {
    // Unset means "crun's default errno" (EPERM); 0 would make a blocked syscall look successful.
    const decoded = overTheWire(profile);
    expect(decoded.Syscalls[0]?.ErrnoRet).toBeUndefined();
    expect(decoded.Syscalls[1]?.errnoret).toBe(38);
    expect(decoded.Syscalls[2]?.ErrnoRet).toBe('errnoret');
    expect(decoded.Syscalls[2]?.errnoret).toBe(0);
  });

  it('sends no filter when the spec has none', () => {
    expect(specToPb({ linux: {} }).Linux?.Seccomp).toBeNull();
    expect(seccompToPb({ defaultAction: 'SCMP_ACT_ALLOW' })).toEqual({ DefaultAction: 'SCMP_ACT_ALLOW', Architectures: [], Flags: [], Syscalls: [] });
  });
});

describe('WaitProcess status → exit status', () => {
  it('passes 0..255 through (an unset status is 0)', () => {
    expect([0, 1, 137, 255, undefined, null].map(exitStatusFromPb)).toEqual([0, 1, 137, 255, 0, 0]);
  });

  it.each([-1, 256, 0x7fffffff, -0x80000000, 1.5, NaN])('refuses %p, which containerd would see as another number', (status) => {
    expect(() => exitStatusFromPb(status)).toThrow('outside 0..255');
  });
});
