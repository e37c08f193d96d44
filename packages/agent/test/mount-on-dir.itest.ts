// mountOnDir pins the checked directory with a descriptor, so what gets mounted on is what was checked.
// Root only: it really mounts (tmpfs, on a directory of the test's own).
// The race test swaps the mount point's parent for a symlink out of the root from another process
// while mounts are attempted: nothing may ever be mounted outside the root.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code } from 'ttrpc-ts';
import { describeNeeding, rootSkipReason } from '../../../e2e/harness/host-requirements';
import { mountOnDir } from '../src/storage/mount';

const mountPoints = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]!);
const mounted = (p: string) => mountPoints().includes(p);
/** Mount points at or under `dir`, innermost (latest) first. */
const mountsUnder = (dir: string) => mountPoints().filter((m) => m.startsWith(`${dir}/`)).reverse();

/** Flips root/sub between the real directory and a symlink to `outside`, as fast as it can, until killed. */
const SWAPPER = `
  const fs = require('fs');
  const [root, outside] = process.argv.slice(1);
  const sub = root + '/sub', real = root + '/sub.real', link = root + '/sub.link';
  fs.symlinkSync(outside, link);
  process.stdout.write('swapping\\n');
  for (;;) {
    try { fs.renameSync(sub, real); } catch {}
    try { fs.renameSync(link, sub); } catch {}
    try { fs.renameSync(sub, link); } catch {}
    try { fs.renameSync(real, sub); } catch {}
  }`;

describeNeeding(rootSkipReason(), 'mountOnDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-mount-'));
  });
  afterEach(() => {
    for (let m = mountsUnder(dir); m.length > 0; m = mountsUnder(dir)) execFileSync('umount', ['-l', m[0]!]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('mounts on the checked directory', async () => {
    const target = path.join(dir, 'real');
    mkdirSync(target);
    await mountOnDir('tmpfs', target, 'tmpfs', ['size=1m', '']);
    expect(mounted(target)).toBe(true);
  });

  it('refuses a symlink, or a path that no longer is the directory it names, and mounts nothing', async () => {
    mkdirSync(path.join(dir, 'outside'));
    symlinkSync(path.join(dir, 'outside'), path.join(dir, 'link'));
    await expect(mountOnDir('tmpfs', path.join(dir, 'link'), 'tmpfs', [])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    mkdirSync(path.join(dir, 'real', 'sub'), { recursive: true });
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'parent-link'));
    // A checked path is a real path: one that now goes through a symlinked parent resolves elsewhere.
    await expect(mountOnDir('tmpfs', path.join(dir, 'parent-link', 'sub'), 'tmpfs', [])).rejects.toThrow(/replaced/);
    expect(mounted(path.join(dir, 'outside'))).toBe(false);
    expect(mounted(path.join(dir, 'real', 'sub'))).toBe(false);
  });

  it('mounts only inside the root while another process swaps the mount point\'s parent for a symlink out of it', async () => {
    const root = path.join(dir, 'root');
    const outside = path.join(dir, 'outside');
    mkdirSync(path.join(root, 'sub', 'mnt'), { recursive: true });
    mkdirSync(path.join(outside, 'mnt'), { recursive: true });
    const target = path.join(root, 'sub', 'mnt');
    const swapper = spawn(process.execPath, ['-e', SWAPPER, root, outside], { stdio: ['ignore', 'pipe', 'inherit'] });
    const refusals = new Map<string, number>();
    let mounts = 0;
    try {
      await new Promise((resolve, reject) => {
        swapper.stdout.once('data', resolve);
        swapper.once('exit', reject);
      });
      for (const deadline = Date.now() + 4000; Date.now() < deadline;) {
        try {
          await mountOnDir('tmpfs', target, 'tmpfs', ['size=1m']);
          mounts++;
        } catch (error) {
          // Refused by the check, or mount(8) found the path gone: either way nothing was mounted.
          const message = (error as Error).message;
          const kind = /replaced/.test(message) ? 'replaced' : /not a plain directory/.test(message) ? 'not a plain directory' : message.replace(/\/tmp\/\S+/g, '<path>');
          refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
        }
      }
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((resolve) => (swapper.exitCode === null && swapper.signalCode === null ? swapper.once('exit', resolve) : resolve(undefined)));
    }
    // The race was run both ways: some mounts happened, some were refused while the path was elsewhere.
    expect(mounts).toBeGreaterThan(0);
    expect([...refusals.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // Whatever the names are now (sub, sub.real), every mount is on the real directory inside the root.
    const escaped = mountsUnder(dir).filter((m) => !m.startsWith(`${root}/`));
    expect({ escaped, mounts, refusals: Object.fromEntries(refusals) }).toEqual({ escaped: [], mounts, refusals: Object.fromEntries(refusals) });
    expect(mountsUnder(outside)).toEqual([]);
  }, 30_000);
});
