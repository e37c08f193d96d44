import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { adjustNamespaces, rootfsPath, takeGuestNetSysctls, validateMounts } from './spec';

describe('spec adjustments', () => {
  it('adds a pid namespace (new, or the sandbox one) and a mount namespace', () => {
    const s = { Linux: { Namespaces: [{ Type: 'ipc', Path: '' }, { Type: 'pid', Path: '/bogus' }] } };
    adjustNamespaces(s, {});
    expect(s.Linux.Namespaces).toEqual([{ Type: 'ipc', Path: '' }, { Type: 'mount', Path: '' }, { Type: 'pid', Path: '' }]);
    const t = { Hostname: 'h', Linux: { Namespaces: [{ Type: 'uts', Path: '' }, { Type: 'ipc', Path: '' }] } };
    adjustNamespaces(t, { pid: '/proc/9/ns/pid', ipc: '/proc/9/ns/ipc', uts: '/proc/9/ns/uts' });
    expect(t.Linux.Namespaces).toContainEqual({ Type: 'pid', Path: '/proc/9/ns/pid' });
    expect(t.Linux.Namespaces).toContainEqual({ Type: 'uts', Path: '/proc/9/ns/uts' });
    expect(t.Hostname).toBe('');
  });

  it('finds the rootfs', () => {
    expect(rootfsPath({}, '/shared', 'c1')).toBe('/shared/c1/rootfs');
    expect(rootfsPath({ Root: { Path: 'rootfs' } }, '/shared', 'c1')).toBe('/shared/c1/rootfs');
    expect(rootfsPath({ Root: { Path: '/abs/rootfs' } }, '/shared', 'c1')).toBe('/abs/rootfs');
    expect(() => rootfsPath({ Root: { Path: '../x' } }, '/shared', 'c1')).toThrow(InvalidArgumentError);
  });

  it('checks mount destinations and bind sources', async () => {
    await expect(validateMounts({ Mounts: [{ destination: 'rel', type: 'tmpfs' }] }, ['/tmp'])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(validateMounts({ Mounts: [{ destination: '/x', type: 'bind', source: '/etc' }] }, ['/tmp'])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(validateMounts({ Mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }] }, ['/tmp'])).resolves.toBeUndefined();
  });

  it('keeps the directories of an overlay mount inside the roots', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'agent-overlay-'));
    await fs.mkdir(path.join(root, 'a'));
    await fs.mkdir(path.join(root, 'b'));
    await fs.symlink('/etc', path.join(root, 'escape'));
    try {
      const ok = { Mounts: [{ destination: '/m', type: 'overlay', source: 'overlay', options: [`lowerdir=${root}/a:${root}/b`, 'ro'] }] };
      await validateMounts(ok, [root]);
      expect(ok.Mounts[0]?.options).toEqual([`lowerdir=${root}/a:${root}/b`, 'ro']);
      await expect(validateMounts({ Mounts: [{ destination: '/m', type: 'overlay', options: [`lowerdir=${root}/a:/etc`] }] }, [root])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(validateMounts({ Mounts: [{ destination: '/m', type: 'overlay', options: [`lowerdir=${root}/escape`] }] }, [root])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(validateMounts({ Mounts: [{ destination: '/m', type: 'overlay', options: [`lowerdir=${root}/a`, 'upperdir=/var/u'] }] }, [root])).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('takes net.* sysctls out of a container that shares the guest netns, and leaves them to one with its own', () => {
    const s = { Linux: { Sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' }, Namespaces: [{ Type: 'ipc', Path: '' }] } };
    expect(takeGuestNetSysctls(s)).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(s.Linux.Sysctl).toEqual({ 'kernel.shm_rmid_forced': '1' });
    const own = { Linux: { Sysctl: { 'net.ipv4.ping_group_range': '0 0' }, Namespaces: [{ Type: 'network', Path: '' }] } };
    expect(takeGuestNetSysctls(own)).toEqual({});
    expect(own.Linux.Sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 0' });
    expect(() => takeGuestNetSysctls({ Linux: { Sysctl: { 'net.ipv4/../../kernel.x': '1' } } })).toThrow(InvalidArgumentError);
  });
});
