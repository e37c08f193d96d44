/**
 * The virtio-fs share end to end: a configuration with shared_fs = "virtio-fs" and QEMU 7.2's own
 * virtiofsd (/usr/lib/qemu/virtiofsd, Debian's qemu-system-common), through a private containerd and
 * the installed shim. The container's root and a bind-mounted volume come over virtio-fs (not 9p);
 * what the container writes in the volume shows on the host and the other way round; the daemon
 * lives and dies with the VM.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KATA_STATE_DIR, KataCtr, NO_LEFTOVERS, describeKata, installedConfigWith, settledLeftovers, type PrivateContainerd } from './harness';
import { listProcesses } from './harness/procfs';

const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
describeKata('kata-ts with a virtio-fs share', () => {
  let ctd: PrivateContainerd;
  let kata: KataCtr;
  let tmpDir: string;
  let config: string;

  beforeAll(async () => {
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-vfs-e2e-'));
    config = path.join(tmpDir, 'virtiofs.toml');
    writeFileSync(config, installedConfigWith({ shared_fs: 'virtio-fs', virtio_fs_daemon: VIRTIOFSD }));
    ({ ctd, kata } = await KataCtr.start());
  }, 180_000);

  afterAll(async () => {
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  it('shares the rootfs and a volume over virtio-fs both ways, with virtiofsd tied to the VM', async () => {
    const id = `kata-vfs-${process.pid}`;
    const volume = path.join(tmpDir, 'volume');
    mkdirSync(volume);
    writeFileSync(path.join(volume, 'from-host'), 'host wrote this\n');
    await kata.runDetached(id, config, ['sleep', '100000'], ['--mount', `type=bind,src=${volume},dst=/data,options=rbind:rw`]);

    const argv = (await kata.qemuOf(id)).argv.join(' ');
    expect(argv).toContain('vhost-user-fs-pci');
    expect(argv).not.toContain('virtio-9p-pci');
    expect(argv).not.toContain('-incoming'); // no VM template with virtio-fs
    const daemons = (await listProcesses()).filter((p) => p.argv[0] === VIRTIOFSD && p.argv.some((a) => a.includes(path.join(KATA_STATE_DIR, 'sbs', id))));
    // QEMU 7.2's virtiofsd forks once (a parent that waits for its sandboxed child).
    expect(daemons.length).toBeGreaterThanOrEqual(1);

    // The container's root and its volume are virtiofs mounts (tag kataShared) inside the guest.
    const mounts = await kata.exec(id, 'm', 'cat /proc/self/mountinfo');
    const fsOf = (mountPoint: string) => mounts.split('\n').find((l) => l.split(' ')[4] === mountPoint)?.split(' - ')[1]?.split(' ')[0];
    expect(fsOf('/')).toBe('virtiofs');
    expect(fsOf('/data')).toBe('virtiofs');
    expect(await kata.exec(id, 'r', 'cat /data/from-host')).toBe('host wrote this\n');
    await kata.exec(id, 'w', 'echo guest wrote this > /data/from-guest && sync');
    expect(readFileSync(path.join(volume, 'from-guest'), 'utf8')).toBe('guest wrote this\n');

    await kata.remove(id);
    const footprint = { paths: [path.join(KATA_STATE_DIR, 'sbs', id), ctd.shimSocketFor(id)], pids: daemons.map((d) => d.pid) };
    expect(await settledLeftovers(footprint)).toEqual(NO_LEFTOVERS);
  }, 300_000);
}, existsSync(VIRTIOFSD) ? undefined : `${VIRTIOFSD} is missing (qemu-system-common)`);
