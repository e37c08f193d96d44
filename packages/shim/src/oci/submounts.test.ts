import { mirrorSubmounts, submountBinds } from './submounts';
import type { OciSpec } from './spec';

const SHARE = '/run/kata-containers/shared/containers';

describe('submountBinds', () => {
  // critest "should support non-recursive readonly mounts": a read-only volume with a tmpfs below it.
  const ro = { destination: '/mnt', type: 'bind', source: `${SHARE}/c-1-mnt`, options: ['rbind', 'rprivate', 'ro'] };

  it('gives a writable host submount of a read-only bind its own writable bind in the guest', () => {
    expect(submountBinds(ro, [{ path: 'tmpfs', readonly: false }])).toEqual([
      { destination: '/mnt/tmpfs', type: 'bind', source: `${SHARE}/c-1-mnt/tmpfs`, options: ['rbind', 'rw'] },
    ]);
  });

  it('adds nothing where the guest already inherits the right state', () => {
    expect(submountBinds(ro, [{ path: 'a', readonly: true }])).toEqual([]);
    expect(submountBinds({ ...ro, options: ['rbind'] }, [{ path: 'a', readonly: false }])).toEqual([]);
  });

  it('marks a read-only host submount of a writable bind read-only in the guest', () => {
    expect(submountBinds({ ...ro, options: ['rbind', 'rw'] }, [{ path: 'a/b', readonly: true }])).toEqual([
      { destination: '/mnt/a/b', type: 'bind', source: `${SHARE}/c-1-mnt/a/b`, options: ['rbind', 'ro'] },
    ]);
  });

  it('follows nesting: a child inherits from the nearest mirrored parent', () => {
    const out = submountBinds(ro, [
      { path: 'w', readonly: false },
      { path: 'w/still-rw', readonly: false },
      { path: 'w/ro-again', readonly: true },
      { path: 'other/ro', readonly: true },
    ]);
    expect(out.map((m) => `${m.destination}:${m.options?.[1]}`)).toEqual(['/mnt/w:rw', '/mnt/w/ro-again:ro']);
  });

  it('leaves recursive read-only (rro), non-recursive binds and non-binds alone', () => {
    const sub = [{ path: 'tmpfs', readonly: false }];
    expect(submountBinds({ ...ro, options: ['rbind', 'ro', 'rro'] }, sub)).toEqual([]);
    expect(submountBinds({ ...ro, options: ['bind', 'ro'] }, sub)).toEqual([]);
    expect(submountBinds({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['ro'] }, sub)).toEqual([]);
  });

  it('ignores paths that would leave the mount', () => {
    expect(submountBinds(ro, [{ path: '../x', readonly: false }, { path: '/etc', readonly: false }, { path: '.', readonly: false }])).toEqual([]);
  });
});

describe('mirrorSubmounts', () => {
  it('inserts the extra binds right after their parent mount, in spec order', () => {
    const spec: OciSpec = {
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/mnt', type: 'bind', source: `${SHARE}/c-1-mnt`, options: ['rbind', 'ro'] },
        { destination: '/data', type: 'bind', source: `${SHARE}/c-2-data`, options: ['rbind', 'ro'] },
      ],
    };
    const table: Record<string, Array<{ path: string; readonly: boolean }>> = { [`${SHARE}/c-1-mnt`]: [{ path: 'tmpfs', readonly: false }] };
    const asked: string[] = [];
    mirrorSubmounts(spec, (p) => (asked.push(p), table[p] ?? []));
    expect(spec.mounts?.map((m) => m.destination)).toEqual(['/proc', '/mnt', '/mnt/tmpfs', '/data']);
    expect(asked).toEqual([`${SHARE}/c-1-mnt`, `${SHARE}/c-2-data`]);
  });
});
