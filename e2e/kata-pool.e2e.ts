/**
 * The warm VM pool end to end: `kata-ts factory serve` (the installed CLI) with a configuration of
 * this test's own (its own socket and pool directory, the installed template), a private containerd
 * and the installed shim. A sandbox takes a waiting VM (its QEMU is that VM's, the agent was already
 * up), each VM serves exactly one sandbox, the pool refills, a removed sandbox takes its VM with it,
 * and with the pool stopped a sandbox clones the template and the shim says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KataCtr, NO_LEFTOVERS, describeKata, installedConfigWith, run, sandboxFootprint, settledLeftovers, waitUntil, type PrivateContainerd } from './harness';
import { isAlive } from './harness/procfs';

const TEST_TIMEOUT_MS = 300_000;
const KATA_TS = '/usr/local/bin/kata-ts';

interface PoolStatusJson {
  pool: { target: number; ready: Array<{ name: string; qemuPid: number }>; handedOver: number } | string;
}

describeKata('kata-ts warm VM pool through ctr', () => {
  let ctd: PrivateContainerd;
  let kata: KataCtr;
  let tmpDir: string;
  let poolDir: string;
  let config: string;
  let factory: ChildProcess | undefined;
  let ids: string[] = [];
  let n = 0;

  const newId = (what: string) => {
    const id = `kata-pool-${what}-${process.pid}-${n++}`;
    ids.push(id);
    return id;
  };
  const status = async (): Promise<PoolStatusJson['pool']> => {
    const r = await run(KATA_TS, ['factory', 'status', '--json', '--config', config], { timeoutMs: 20_000 });
    return (JSON.parse(r.stdout) as PoolStatusJson).pool;
  };
  const readyVms = async () => {
    const s = await status();
    return typeof s === 'string' ? [] : s.ready;
  };
  const startFactory = async () => {
    // Its log stays in the test's directory; a failure below prints its tail.
    factory = spawn(KATA_TS, ['factory', 'serve', '--config', config], { stdio: ['ignore', 'ignore', openSync(path.join(tmpDir, 'factory.log'), 'a')] });
    if (!(await waitUntil(async () => (await readyVms()).length >= 1, 120_000, 500))) throw new Error('the pool never had a VM ready');
  };
  const stopFactory = async () => {
    const f = factory;
    factory = undefined;
    if (!f || f.exitCode !== null) return;
    f.kill('SIGTERM');
    await new Promise((r) => f.once('exit', r));
  };

  beforeAll(async () => {
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-pool-e2e-'));
    poolDir = path.join(tmpDir, 'vm-cache');
    config = path.join(tmpDir, 'pool.toml');
    writeFileSync(config, installedConfigWith({ vm_cache_number: 1, vm_cache_endpoint: path.join(poolDir, 'cache.sock') }));
    ({ ctd, kata } = await KataCtr.start());
  }, 180_000);

  afterAll(async () => {
    await stopFactory();
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  beforeEach(() => {
    ids = [];
  });

  afterEach(async () => {
    expect(await settledLeftovers(sandboxFootprint(ctd, ids))).toEqual(NO_LEFTOVERS);
  }, 60_000);

  it('hands each waiting VM to exactly one sandbox, refills, and the VM goes with its sandbox', async () => {
    await startFactory();
    const [waiting] = await readyVms();
    expect(waiting?.name).toMatch(/^pool-/);
    const a = newId('a');
    await kata.runDetached(a, config, ['sleep', '100000']);
    // The sandbox runs in the waiting VM: same QEMU, named after the pool VM, not a new clone.
    const qa = await kata.qemuOf(a).catch(() => undefined);
    expect(qa).toBeUndefined(); // no QEMU named sandbox-<a>: it adopted one
    expect(await isAlive(waiting!.qemuPid)).toBe(true);
    const shimLog = readFileSync(ctd.layout.logFile, 'utf8');
    expect(shimLog).toContain(`"vm":"sandbox-${waiting!.name}","msg":"adopted a warm pool VM"`);
    expect(await kata.exec(a, 'x', 'echo in-pool-vm; cat /proc/1/cmdline | tr "\\0" " "')).toMatch(/^in-pool-vm\nsleep 100000 $/);
    await kata.exec(a, 'y', 'touch /tmp/mark-a');

    const s = await status();
    expect(typeof s === 'string' ? s : s.handedOver).toBe(1);
    expect(await waitUntil(async () => (await readyVms()).length === 1, 120_000, 500)).toBe(true);
    const [refill] = await readyVms();
    expect(refill!.name).not.toBe(waiting!.name);

    const b = newId('b');
    await kata.runDetached(b, config, ['sleep', '100000']);
    expect(await isAlive(refill!.qemuPid)).toBe(true);
    expect(readFileSync(ctd.layout.logFile, 'utf8')).toContain(`"vm":"sandbox-${refill!.name}","msg":"adopted a warm pool VM"`);
    expect(await kata.exec(b, 'r', 'test -e /tmp/mark-a && echo shared || echo separate')).toBe('separate\n');

    await kata.remove(a);
    expect(await waitUntil(async () => !(await isAlive(waiting!.qemuPid)), 30_000, 100)).toBe(true);
    expect(await waitUntil(() => !existsSync(path.join(poolDir, waiting!.name)), 30_000, 100)).toBe(true);
    await kata.remove(b);
    expect(await waitUntil(async () => !(await isAlive(refill!.qemuPid)), 30_000, 100)).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('clones the template when the pool is not running, and says why', async () => {
    await stopFactory();
    expect(existsSync(path.join(poolDir, 'cache.sock'))).toBe(false);
    // The VMs it stopped are gone with their directories (sockets, qemu.pid, mount points): before,
    // the factory exited before removing them and they stayed until the next factory started.
    expect(existsSync(poolDir) ? readdirSync(poolDir).filter((name) => name.startsWith('pool-')) : []).toEqual([]);
    const id = newId('nopool');
    await kata.runDetached(id, config, ['sleep', '100000']);
    const argv = (await kata.qemuOf(id)).argv.join(' ');
    expect(argv).toContain('-incoming defer');
    const line = readFileSync(ctd.layout.logFile, 'utf8').split('\n').find((l) => l.includes(`"id":"${id}"`) && l.includes('no warm pool VM'));
    expect(line).toContain('no VM pool is running');
    expect(await kata.exec(id, 'x', 'echo cloned')).toBe('cloned\n');
    await kata.remove(id);
  }, TEST_TIMEOUT_MS);
});
