/**
 * kata-ts end to end through containerd's own client: a private containerd, the busybox test image,
 * `ctr ... --runtime io.containerd.kata.v2`, real QEMU and the real guest image, as installed by
 * scripts/install.sh (containerd finds containerd-shim-kata-v2 on its PATH; the shim reads
 * /usr/share/defaults/kata-ts/configuration.toml and boots /usr/share/kata-ts). With
 * KATA_TS_E2E_IMAGE_DIR set, the containers are instead pointed at a configuration for that image
 * directory through `ctr run --runtime-config-path` (the runtime options' ConfigPath).
 *
 * After every test nothing may be left: no shim or QEMU process, no mount, socket or file under
 * /run/kata-ts/sbs/<id> or /run/containerd/s/<hash>.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  EventWatcher, INSTALLED_ASSETS, KATA_STATE_DIR, NO_LEFTOVERS, PrivateContainerd, containerdMatrix, describeKata, ensureTestImage, findLeftovers,
  run, waitUntil, type CommandResult, type GuestManifest as Manifest,
} from './harness';
import { listProcesses } from './harness/procfs';

const RUNTIME = 'io.containerd.kata.v2';
/** An image directory to test instead of the installed one (development). */
const IMAGE_DIR = process.env.KATA_TS_E2E_IMAGE_DIR;
const TEST_TIMEOUT_MS = 240_000;
/** How long the pause test keeps the task paused. */
const PAUSE_MS = 4_000;

/** Asserts a command's exit code (and stdout), showing stderr when it differs. */
function expectResult(r: CommandResult, code: number, stdout?: string): void {
  if (r.code === code && (stdout === undefined || r.stdout === stdout)) return;
  throw new Error(`expected exit ${code}${stdout === undefined ? '' : ` and stdout ${JSON.stringify(stdout)}`}, got exit ${r.code}` +
    `${r.timedOut ? ' (timed out)' : ''}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
}


/** Writes a configuration that boots `imageDir`'s default format. */
function writeConfig(file: string, imageDir: string): void {
  const m = JSON.parse(readFileSync(path.join(imageDir, 'manifest.json'), 'utf8')) as Manifest;
  const at = (f: string | undefined) => (f ? path.join(imageDir, f) : '');
  const disk = m.default.format === 'disk' ? m.formats.disk : undefined;
  writeFileSync(file, [
    '[hypervisor.qemu]',
    `kernel = ${JSON.stringify(at(m.default.kernel))}`,
    `initrd = ${JSON.stringify(at(disk ? disk.initrd : m.default.initrd))}`,
    `image = ${JSON.stringify(at(disk?.rootfsImage))}`,
    `rootfs_type = ${JSON.stringify(disk?.fsType ?? 'erofs')}`,
    'accel = "auto"',
    '[agent.kata]',
    'dial_timeout = 90',
    '',
  ].join('\n'));
}

describeKata('kata-ts through ctr (io.containerd.kata.v2)', () => describe.each(containerdMatrix())('%s', (_label, flavour) => {
  let ctd: PrivateContainerd;
  let image: string;
  let tmpDir: string;
  let configFlags: string[] = [];
  let manifest: Manifest;
  /** Container ids the current test used (for the leftover check). */
  let ids: string[] = [];
  let n = 0;

  const newId = (what: string) => {
    const id = `kata-${what}-${process.pid}-${n++}`;
    ids.push(id);
    return id;
  };

  const ctrArgs = (args: string[]) => ctd.ctrArgs(args);
  const runFlags = () => ['--runtime', RUNTIME, '--fifo-dir', path.join(ctd.layout.dir, 'fifo'), ...configFlags];

  /** `ctr run --rm` (stdin from `input`, or /dev/null). */
  const ctrRun = (id: string, args: string[], opts: { flags?: string[]; input?: string } = {}): Promise<CommandResult> =>
    run(ctd.program('ctr'), ctrArgs(['run', '--rm', ...runFlags(), ...(opts.flags ?? []), image, id, ...args]), { timeoutMs: 180_000, input: opts.input });

  /** `ctr run -d --null-io`: returns once the task runs. */
  const ctrRunDetached = async (id: string, args: string[], flags: string[] = []) => {
    const r = await run(ctd.program('ctr'), ctrArgs(['run', '-d', '--null-io', ...runFlags(), ...flags, image, id, ...args]), { timeoutMs: 180_000 });
    expectResult(r, 0);
  };

  /** A command under a pseudo-terminal (ctr -t needs one), through script(1). */
  const withTty = (args: string[]) => {
    const quoted = [ctd.program('ctr'), ...ctrArgs(args)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return run('script', ['-qec', quoted, '/dev/null'], { timeoutMs: 180_000 });
  };

  const removeTask = async (id: string) => {
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitUntil(async () => !(await ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
    await ctd.ctr(['task', 'delete', id]);
    await ctd.ctr(['containers', 'delete', id]);
  };

  /** Processes of this test's sandboxes: shims (by containerd address and id) and QEMUs (by sandbox name). */
  const kataProcesses = async (sandboxIds = ids) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(ctd.layout.address) && sandboxIds.some((id) => p.argv.includes(id))) ||
      sandboxIds.some((id) => p.argv.includes(`sandbox-${id}`))
    ));

  beforeAll(async () => {
    manifest = JSON.parse(readFileSync(path.join(IMAGE_DIR ?? INSTALLED_ASSETS, 'manifest.json'), 'utf8')) as Manifest;
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-e2e-'));
    if (IMAGE_DIR) {
      writeConfig(path.join(tmpDir, 'configuration.toml'), IMAGE_DIR);
      configFlags = ['--runtime-config-path', path.join(tmpDir, 'configuration.toml')];
    }
    ctd = await PrivateContainerd.start({ flavour });
    const img = await ensureTestImage();
    await ctd.importImage(img.tarPath);
    image = img.ref;
  }, 180_000);

  afterAll(async () => {
    if (ctd && process.env.KATA_TS_E2E_KEEP_LOG) writeFileSync(process.env.KATA_TS_E2E_KEEP_LOG, readFileSync(ctd.layout.logFile));
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  beforeEach(() => {
    ids = [];
  });

  afterEach(async () => {
    const footprint = {
      paths: [...ids.map((id) => path.join(KATA_STATE_DIR, 'sbs', id)), ...ids.map((id) => ctd.shimSocketFor(id))],
    };
    let left = await findLeftovers(footprint);
    let procs = await kataProcesses();
    await waitUntil(async () => {
      left = await findLeftovers(footprint);
      procs = await kataProcesses();
      return procs.length === 0 && JSON.stringify(left) === JSON.stringify(NO_LEFTOVERS);
    }, 20_000, 200);
    expect(procs.map((p) => `${p.pid} ${p.argv.slice(0, 4).join(' ')}`)).toEqual([]);
    expect(left).toEqual(NO_LEFTOVERS);
  }, 60_000);

  it('ctr run --rm prints the output and exits 0, in event order create, start, exit, delete', async () => {
    const id = newId('echo');
    const events = await EventWatcher.start(ctd);
    try {
      const r = await ctrRun(id, ['echo', 'hello from kata-ts']);
      expectResult(r, 0, 'hello from kata-ts\n');
      await events.waitFor((l) => l.includes('/tasks/delete') && l.includes(id), 10_000);
      const topics = events.lines.filter((l) => l.includes(`"${id}"`) && l.includes(' /tasks/')).map((l) => l.split(' ').find((w) => w.startsWith('/tasks/')));
      expect(topics).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
    } finally {
      await events.stop();
    }
  }, TEST_TIMEOUT_MS);

  it('returns the exit code of the command (42)', async () => {
    const r = await ctrRun(newId('exit'), ['sh', '-c', 'echo before exit; exit 42']);
    expectResult(r, 42, 'before exit\n');
  }, TEST_TIMEOUT_MS);

  it('runs on the guest kernel, not the host one', async () => {
    const r = await ctrRun(newId('uname'), ['uname', '-r']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(manifest.kernel.version);
    expect(r.stdout.trim()).not.toBe(os.release());
  }, TEST_TIMEOUT_MS);

  it('returns 137 after ctr task kill -s SIGKILL', async () => {
    const id = newId('kill');
    const running = ctrRun(id, ['sleep', '600']);
    expect(await waitUntil(async () => (await ctd.tasks()).some((t) => t.id === id && t.status === 'RUNNING'), 120_000, 200)).toBe(true);
    await ctd.ctrOk(['task', 'kill', '-s', 'SIGKILL', id]);
    expect((await running).code).toBe(137);
  }, TEST_TIMEOUT_MS);

  it('pipes stdin into the container (ctr run attaches stdin)', async () => {
    const r = await ctrRun(newId('stdin'), ['sh', '-c', 'cat; echo end'], { input: 'line one\nline two\n' });
    expectResult(r, 0, 'line one\nline two\nend\n');
  }, TEST_TIMEOUT_MS);

  it('ctr run -t gives the container a terminal', async () => {
    const id = newId('tty');
    const r = await withTty(['run', '--rm', '-t', ...runFlags(), image, id, 'sh', '-c', 'tty; test -t 0 && echo is-a-tty; exit 3']);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toContain('is-a-tty');
    expect(r.code).toBe(3);
  }, TEST_TIMEOUT_MS);

  it('keeps address randomization for container processes, init and exec (crun alone runs at fixed addresses under TCG)', async () => {
    const id = newId('aslr');
    await ctrRunDetached(id, ['sh', '-c', 'cat /proc/self/personality > /tmp/init-persona; exec sleep 600']);
    const r = await ctd.ctr(['task', 'exec', '--exec-id', 'p1', id, 'sh', '-c', 'cat /tmp/init-persona /proc/self/personality /proc/sys/kernel/randomize_va_space /proc/cmdline']);
    expect(r.code).toBe(0);
    const [initPersona, execPersona, randomize, cmdline] = r.stdout.trim().split('\n');
    // The shim asks for the fixed layout exactly when the VM runs under TCG (the case that matters here).
    const qemu = (await kataProcesses()).find((p) => p.argv.includes(`sandbox-${id}`));
    expect(qemu).toBeDefined();
    const tcg = (qemu?.argv ?? []).some((a) => /accel=tcg|^tcg/.test(a));
    expect(cmdline?.split(' ').includes('kata_ts.crun_fixed_layout=1')).toBe(tcg);
    // 00040000 would be ADDR_NO_RANDOMIZE leaking from crun's persona into the workload.
    expect(initPersona).toBe('00000000');
    expect(execPersona).toBe('00000000');
    expect(randomize).toBe('2');
    await removeTask(id);
  }, TEST_TIMEOUT_MS);

  it('ctr task exec (with and without --tty) runs in the same VM', async () => {
    const id = newId('exec');
    await ctrRunDetached(id, ['sh', '-c', 'echo marker > /tmp/marker; exec sleep 600']);
    const before = await kataProcesses();
    const plain = await ctd.ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'cat /tmp/marker; uname -r; exit 5']);
    expect(plain).toMatchObject({ code: 5, stdout: `marker\n${manifest.kernel.version}\n` });
    const tty = await withTty(['task', 'exec', '-t', '--exec-id', 'e2', id, 'sh', '-c', 'tty; cat /tmp/marker']);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(tty.stdout).toContain('marker');
    expect((await kataProcesses()).map((p) => p.pid).sort()).toEqual(before.map((p) => p.pid).sort());
    await removeTask(id);
  }, TEST_TIMEOUT_MS);

  it('ctr task pause/resume, ps and metrics work', async () => {
    const id = newId('pause');
    // A tick every 100 ms: the guest's uptime appended to a file, so a freeze shows as a gap in guest time.
    await ctrRunDetached(id, ['sh', '-c', 'while :; do read up rest < /proc/uptime; echo $up >> /tmp/ticks; usleep 100000; done']);
    const qemu = (await kataProcesses()).find((p) => p.argv.includes(`sandbox-${id}`));
    expect(qemu).toBeDefined();
    let e = 0;
    const ticks = async (): Promise<number[]> =>
      (await ctd.ctrOk(['task', 'exec', '--exec-id', `ticks${e++}`, id, 'cat', '/tmp/ticks'])).trim().split('\n').map(Number);
    expect(await waitUntil(async () => (await ticks()).length >= 5, 60_000, 200)).toBe(true);
    await ctd.ctrOk(['task', 'pause', id]);
    expect((await ctd.tasks()).find((t) => t.id === id)?.status).toBe('PAUSED');
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    await ctd.ctrOk(['task', 'resume', id]);
    expect((await ctd.tasks()).find((t) => t.id === id)?.status).toBe('RUNNING');
    // The guest really froze: a gap of about the pause in the ticks' guest time (ticks are 100 ms
    // apart otherwise); and it ticks again after the resume.
    const afterResume = await ticks();
    const gaps = afterResume.slice(1).map((t, i) => t - afterResume[i]!);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual((PAUSE_MS * 0.75) / 1000);
    expect(await waitUntil(async () => (await ticks()).length > afterResume.length + 3, 30_000, 200)).toBe(true);
    const ps = await ctd.ctrOk(['task', 'ps', id]);
    expect(ps).toMatch(new RegExp(`^${qemu?.pid}\\s`, 'm'));
    const metrics = await ctd.ctrOk(['task', 'metrics', id]);
    expect(metrics).toMatch(/memory\.usage\s+[1-9]\d*/);
    expect(metrics).toMatch(/cpu\.usage_usec\s+\d+/);
    await removeTask(id);
  }, TEST_TIMEOUT_MS);

  it('notices the VM dying: the task exits 255 and the shim cleans up', async () => {
    const id = newId('vmdeath');
    const running = ctrRun(id, ['sleep', '600']);
    expect(await waitUntil(async () => (await ctd.tasks()).some((t) => t.id === id && t.status === 'RUNNING'), 120_000, 200)).toBe(true);
    const qemu = (await kataProcesses()).find((p) => p.argv.includes(`sandbox-${id}`));
    expect(qemu).toBeDefined();
    process.kill(qemu!.pid, 'SIGKILL');
    expect((await running).code).toBe(255);
  }, TEST_TIMEOUT_MS);

  it('cleans up VM, mounts and files through `delete` when the shim daemon is killed', async () => {
    const id = newId('shimdeath');
    await ctrRunDetached(id, ['sleep', '600']);
    const shim = (await kataProcesses()).find((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')));
    expect(shim).toBeDefined();
    process.kill(shim!.pid, 'SIGKILL');
    // containerd runs `containerd-shim-kata-v2 delete`, which must take the orphaned QEMU down too.
    expect(await waitUntil(async () => (await kataProcesses()).length === 0, 30_000, 200)).toBe(true);
    await ctd.ctr(['task', 'delete', id]);
    await ctd.ctr(['containers', 'delete', id]);
  }, TEST_TIMEOUT_MS);

  it('puts two containers with the same sandbox annotations in one shim and one QEMU', async () => {
    const sandbox = newId('pod');
    const app = newId('app');
    await ctrRunDetached(sandbox, ['sleep', '600'], ['--annotation', 'io.kubernetes.cri.container-type=sandbox', '--annotation', `io.kubernetes.cri.sandbox-id=${sandbox}`]);
    await ctrRunDetached(app, ['sh', '-c', 'echo app-ran > /tmp/app; exec sleep 600'], ['--annotation', 'io.kubernetes.cri.container-type=container', '--annotation', `io.kubernetes.cri.sandbox-id=${sandbox}`]);
    const procs = await kataProcesses([sandbox, app]);
    const shims = procs.filter((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')));
    const qemus = procs.filter((p) => p.argv.some((a) => a.startsWith('sandbox-')));
    expect(shims).toHaveLength(1);
    expect(shims[0]?.argv).toContain(sandbox);
    expect(qemus).toHaveLength(1);
    const tasks = await ctd.tasks();
    expect(tasks.find((t) => t.id === app)?.pid).toBe(qemus[0]?.pid);
    expect(tasks.find((t) => t.id === sandbox)?.pid).toBe(qemus[0]?.pid);
    expect(readFileSync(path.join(ctd.bundleDir(app), 'address'), 'utf8')).toBe(readFileSync(path.join(ctd.bundleDir(sandbox), 'address'), 'utf8'));
    expect((await ctd.ctr(['task', 'exec', '--exec-id', 'x', app, 'cat', '/tmp/app'])).stdout).toBe('app-ran\n');
    await removeTask(app);
    await removeTask(sandbox);
  }, TEST_TIMEOUT_MS);
}), undefined, IMAGE_DIR);
