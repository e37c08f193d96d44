import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseAccel } from './accel';

describe('chooseAccel', () => {
  let dir: string;
  let kernel: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-accel-'));
    kernel = path.join(dir, 'vmlinux');
    await fs.writeFile(kernel, 'kernel v1');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const opts = (probe: () => Promise<string | undefined>, kvm = true) => ({
    qemu: '/q', kernel, cacheDir: dir, probe: jest.fn(probe), kvmAvailable: async () => kvm,
  });

  it('honours kvm and tcg as configured', async () => {
    expect((await chooseAccel('kvm', opts(async () => 'x'))).accel).toBe('kvm');
    expect((await chooseAccel('tcg', opts(async () => undefined))).accel).toBe('tcg');
  });

  it('falls back to TCG without /dev/kvm, without probing', async () => {
    const o = opts(async () => undefined, false);
    expect(await chooseAccel('auto', o)).toMatchObject({ accel: 'tcg', reason: expect.stringMatching(/dev\/kvm/) });
    expect(o.probe).not.toHaveBeenCalled();
  });

  it('uses KVM only when a guest really booted, and caches the answer', async () => {
    const failing = opts(async () => 'a KVM guest did not finish booting in 8000 ms');
    expect(await chooseAccel('auto', failing)).toMatchObject({ accel: 'tcg', reason: expect.stringMatching(/did not finish/) });
    const again = opts(async () => undefined);
    expect(await chooseAccel('auto', again)).toMatchObject({ accel: 'tcg', cached: true });
    expect(again.probe).not.toHaveBeenCalled();
    await fs.rm(path.join(dir, 'accel-probe.json'));
    expect((await chooseAccel('auto', opts(async () => undefined))).accel).toBe('kvm');
  });

  it('probes again with refresh and caches the new answer', async () => {
    await chooseAccel('auto', opts(async () => 'no'));
    const fresh = opts(async () => undefined);
    expect(await chooseAccel('auto', { ...fresh, refresh: true })).toEqual({ accel: 'kvm', reason: 'a KVM guest kernel booted' });
    expect(fresh.probe).toHaveBeenCalledTimes(1);
    expect(await chooseAccel('auto', opts(async () => 'no'))).toMatchObject({ accel: 'kvm', cached: true });
  });

  it('neither probes nor caches while the guest kernel is missing', async () => {
    await fs.rm(kernel);
    const o = opts(async () => undefined);
    expect(await chooseAccel('auto', o)).toMatchObject({ accel: 'tcg', reason: expect.stringMatching(/not probed.*missing/) });
    expect(o.probe).not.toHaveBeenCalled();
    await fs.writeFile(kernel, 'kernel v1');
    expect(await chooseAccel('auto', opts(async () => undefined))).toEqual({ accel: 'kvm', reason: 'a KVM guest kernel booted' });
  });

  it('probes again when the guest kernel file changes', async () => {
    await chooseAccel('auto', opts(async () => 'no'));
    await fs.writeFile(kernel, 'kernel v2, a different size');
    const after = opts(async () => undefined);
    expect((await chooseAccel('auto', after)).accel).toBe('kvm');
    expect(after.probe).toHaveBeenCalledTimes(1);
  });

  it('decides even when the cache cannot be written (a full state directory), and leaves no temporary file', async () => {
    // A directory where the cache file's temporary name is: the write fails, as on a full filesystem.
    await fs.mkdir(path.join(dir, `accel-probe.json.${process.pid}.tmp`));
    await fs.writeFile(path.join(dir, `accel-probe.json.${process.pid}.tmp`, 'x'), '');
    expect((await chooseAccel('auto', opts(async () => undefined))).accel).toBe('kvm');
    await fs.rm(path.join(dir, `accel-probe.json.${process.pid}.tmp`), { recursive: true });
  });
});

