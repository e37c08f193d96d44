// The real guest image (images/build.sh) in QEMU TCG with a 9p share and the virtio-serial channel,
// driven from the host with ttrpc-ts through the agent API alone: one boot for the whole sequence.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { Client, createServiceClient } from 'ttrpc-ts';
import { describeNeeding } from '../../../e2e/harness/host-requirements';
import { bootGuest, ensureGuestImage, GuestVm, within } from './harness/guest-vm';
import { readAll } from './harness/io';
import { makeBusyboxRootfs } from './harness/rootfs';
import { busyboxSpec } from './harness/spec';
import { makeNodeVsockRootfs, runVsockLoopback, VSOCK_LOOPBACK_BYTES } from './harness/vsock-loopback';

const GUEST_SHARED = '/run/kata-containers/shared/containers';
/** Root bus slot of the extra virtio-blk disk (its Kata PCI path is the slot in hex). */
const BLK_SLOT = 0x0a;
const QEMU = '/usr/bin/qemu-system-x86_64';
const vmSkipReason = process.getuid?.() !== 0 ? 'needs root' : existsSync(QEMU) ? undefined : `needs ${QEMU}`;
/** SKIP_VM_TESTS=1 is a developer's explicit opt-out (named in the skipped suite's title); a missing
 * prerequisite is not: it skips by name, or fails where host tests are required. */
const describeVm = (name: string, fn: () => void): void =>
  process.env.SKIP_VM_TESTS ? describe.skip(`${name} [skipped: SKIP_VM_TESTS is set]`, fn) : describeNeeding(vmSkipReason, name, fn);

/** What `yes <LINE> | head -c <n>` prints. */
function yesBytes(line: string, n: number): Buffer {
  const unit = Buffer.from(`${line}\n`);
  return Buffer.alloc(n, unit);
}

describeVm('agent in the guest VM (QEMU TCG)', () => {
  let vm: GuestVm;
  let shared: string;
  let client: Client;
  let agent: ReturnType<typeof createServiceClient<typeof AgentService>>;
  let health: ReturnType<typeof createServiceClient<typeof HealthService>>;
  const rootfs = (id: string) => makeBusyboxRootfs(path.join(shared, id, 'rootfs'));
  const spec = (id: string, args: string[], opts: Parameters<typeof busyboxSpec>[1] = {}) =>
    busyboxSpec(args, { rootPath: `${GUEST_SHARED}/${id}/rootfs`, ...opts });

  beforeAll(async () => {
    ensureGuestImage();
    shared = mkdtempSync(path.join(os.tmpdir(), 'kata-vm-share-'));
    rootfs('ca');
    rootfs('cb');
    makeNodeVsockRootfs(path.join(shared, 'cv', 'rootfs'));
    // A block volume: an ext4 image made on the host (ext4 ships as an on-demand module in the guest).
    mkdirSync(path.join(shared, 'disk-src'));
    writeFileSync(path.join(shared, 'disk-src', 'hello'), 'from the host disk\n');
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', path.join(shared, 'disk-src'), path.join(shared, 'disk.img'), '8M']);
    vm = bootGuest({ sharedDir: shared, disks: [{ file: path.join(shared, 'disk.img'), slot: BLK_SLOT }] });
    client = new Client(await vm.connect());
    agent = createServiceClient(client, AgentService);
    health = createServiceClient(client, HealthService);
  }, 600_000);

  afterAll(async () => {
    client?.close();
    if (vm) {
      if (process.env.AGENT_TEST_LOGS) process.stderr.write(vm.console());
      await vm.kill();
    }
    if (shared) rmSync(shared, { recursive: true, force: true });
  });

  it('runs the whole sequence through the agent API', async () => {
    const t0 = performance.now();
    const step = (what: string) => process.stderr.write(`vm.itest: ${what} at ${((performance.now() - vm.startedAt) / 1000).toFixed(1)} s\n`);
    expect((await health.check({ service: '' })).status).toBe(1);
    step('Health.Check answered');

    // A host that goes away (leaving half a frame behind) and comes back gets a working session.
    client.close();
    const stale = await vm.connect();
    stale.write(Buffer.from([0, 0, 0, 50, 0, 0, 0, 77, 1, 0, 1, 2, 3]));
    await new Promise((r) => setTimeout(r, 300));
    stale.destroy();
    await new Promise((r) => setTimeout(r, 300));
    client = new Client(await vm.connect());
    agent = createServiceClient(client, AgentService);
    health = createServiceClient(client, HealthService);
    expect((await health.check({ service: '' }, { timeoutMs: 30_000 })).status).toBe(1);
    step('reconnected');

    await agent.createSandbox({
      sandboxId: 'cb', hostname: 'kata-pod', dns: ['nameserver 10.0.2.3'],
      storages: [{ driver: '9p', source: 'kataShared', fstype: '9p', options: ['trans=virtio,version=9p2000.L,cache=mmap', 'nodev'], mountPoint: GUEST_SHARED }],
    });
    step('CreateSandbox');

    // A: echoes, reads its stdin, exits 42.
    await agent.createContainer({ containerId: 'ca', execId: 'ca', OCI: spec('ca', ['sh', '-c', 'echo hello from the guest; read line; echo "got $line"; exit 42']) });
    await agent.startContainer({ containerId: 'ca' });
    await agent.writeStdin({ containerId: 'ca', execId: 'ca', data: Buffer.from('ping\n') });
    await agent.closeStdin({ containerId: 'ca', execId: 'ca' });
    expect((await readAll(agent, 'ca', 'ca', 'stdout')).toString()).toBe('hello from the guest\ngot ping\n');
    expect((await agent.waitProcess({ containerId: 'ca', execId: 'ca' })).status).toBe(42);
    step('container A exited 42');

    // A "blk" storage found by its PCI path, mounted (ext4 loaded on demand) and bind-mounted into a container.
    const vol = '/run/kata-containers/sandbox/storage/vol0';
    rootfs('cd');
    await agent.createContainer({
      containerId: 'cd', execId: 'cd',
      storages: [{ driver: 'blk', source: BLK_SLOT.toString(16).padStart(2, '0'), fstype: 'ext4', options: [], mountPoint: vol }],
      OCI: spec('cd', ['sh', '-c', 'cat /data/hello; echo from the guest > /data/out; sync'], {
        mounts: [{ destination: '/data', type: 'bind', source: vol, options: ['rbind', 'rw'] }],
      }),
    });
    await agent.startContainer({ containerId: 'cd' });
    expect((await readAll(agent, 'cd', 'cd', 'stdout')).toString()).toBe('from the host disk\n');
    expect((await agent.waitProcess({ containerId: 'cd', execId: 'cd' })).status).toBe(0);
    await agent.removeContainer({ containerId: 'cd' }); // unmounts the volume: its writes are on the disk
    expect(execFileSync('debugfs', ['-R', 'cat /out', path.join(shared, 'disk.img')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()).toBe('from the guest\n');
    step('blk storage (ext4 on virtio-blk)');

    // node-vsock in the guest: AF_VSOCK over guest loopback (CID 1), 1 MiB echoed, run by the host's node.
    const vsock = await runVsockLoopback(agent, 'cv', `${GUEST_SHARED}/cv/rootfs`);
    expect(vsock).toMatchObject({ status: 0, stdout: expect.stringContaining(`VSOCK_LOOPBACK_OK ${VSOCK_LOOPBACK_BYTES}\n`) });
    step('node-vsock AF_VSOCK loopback');

    // B: the sandbox container, a ticking shell that exits 143 on SIGTERM.
    await agent.createContainer({
      containerId: 'cb', execId: 'cb',
      OCI: spec('cb', ['sh', '-c', 'trap "echo bye; exit 143" TERM; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done']),
    });
    await agent.startContainer({ containerId: 'cb' });
    expect((await agent.readStdout({ containerId: 'cb', execId: '', len: 1024 })).data.toString()).toMatch(/^tick 1/);

    // An exec with a tty, resized while it runs.
    const tty = spec('cb', ['sh', '-c', 'stty size; read x; stty size; echo "x=$x"; exit 5'], { terminal: true }).Process!;
    tty.ConsoleSize = { Height: 24, Width: 80 };
    await agent.execProcess({ containerId: 'cb', execId: 'tty', process: tty });
    let ttyOut = '';
    while (!ttyOut.includes('24 80')) ttyOut += Buffer.from((await agent.readStdout({ containerId: 'cb', execId: 'tty', len: 1024 })).data).toString();
    await agent.ttyWinResize({ containerId: 'cb', execId: 'tty', row: 40, column: 120 });
    await agent.writeStdin({ containerId: 'cb', execId: 'tty', data: Buffer.from('typed\n') });
    ttyOut += (await readAll(agent, 'cb', 'tty', 'stdout')).toString();
    expect(ttyOut).toContain('40 120');
    expect(ttyOut).toContain('x=typed');
    expect((await agent.waitProcess({ containerId: 'cb', execId: 'tty' })).status).toBe(5);
    step('tty exec resized');

    // 10 MiB of stdout, byte-exact.
    const line = 'kata-ts agent stdout test 0123456789abcdefghijklmnopqrstuvwxyz';
    await agent.execProcess({ containerId: 'cb', execId: 'big', process: spec('cb', ['sh', '-c', `yes ${line} | head -c 10485760`]).Process });
    const big = await readAll(agent, 'cb', 'big', 'stdout', 32 * 1024);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(big.length).toBe(10 * 1024 * 1024);
    expect(sha(big)).toBe(sha(yesBytes(line, 10 * 1024 * 1024)));
    expect((await agent.waitProcess({ containerId: 'cb', execId: 'big' })).status).toBe(0);
    step('10 MiB read back');

    // An exec killed by SIGTERM: 128 + 15.
    await agent.execProcess({ containerId: 'cb', execId: 'sleeper', process: spec('cb', ['sleep', '1000']).Process });
    await agent.signalProcess({ containerId: 'cb', execId: 'sleeper', signal: 15 });
    expect((await agent.waitProcess({ containerId: 'cb', execId: 'sleeper' })).status).toBe(143);

    // Pause and resume (cgroup v2 freezer), stats.
    await agent.pauseContainer({ containerId: 'cb' });
    const drain = async () => {
      while ((await agent.readStdout({ containerId: 'cb', execId: '', len: 1 << 20 }, { timeoutMs: 1500 }).catch(() => null))?.data.length) { /* drain */ }
    };
    await drain();
    await expect(agent.readStdout({ containerId: 'cb', execId: '', len: 1024 }, { timeoutMs: 1500 })).rejects.toMatchObject({ code: 4 });
    const stats = await agent.statsContainer({ containerId: 'cb' });
    expect(Number(stats.cgroupStats?.cpuStats?.cpuUsage?.totalUsage)).toBeGreaterThan(0);
    expect(Number(stats.cgroupStats?.memoryStats?.usage?.usage)).toBeGreaterThan(0);
    expect(Number(stats.cgroupStats?.pidsStats?.current)).toBeGreaterThan(0);
    await agent.resumeContainer({ containerId: 'cb' });
    expect(Buffer.from((await agent.readStdout({ containerId: 'cb', execId: '', len: 1024 }, { timeoutMs: 10_000 })).data).toString()).toMatch(/tick/);
    step('paused, stats, resumed');

    // ListProcesses (Kata 3.x) with the guest's busybox ps: only the container's processes.
    // The ticking shell starts a `sleep` every 0.2 s: compare with the pids seen before and after.
    const jsonPids = async () => JSON.parse(Buffer.from((await agent.listProcesses({ containerId: 'cb', format: 'json', args: [] })).processList).toString()) as number[];
    const before = await jsonPids();
    const table = Buffer.from((await agent.listProcesses({ containerId: 'cb', format: 'table', args: [] })).processList).toString().trim().split('\n');
    const after = await jsonPids();
    const pidColumn = table[0]!.trim().split(/\s+/).indexOf('PID');
    const listed = table.slice(1).map((l) => Number(l.trim().split(/\s+/)[pidColumn]));
    const stable = before.filter((p) => after.includes(p)); // the shell at least
    expect(stable.length).toBeGreaterThan(0);
    expect(listed).toEqual(expect.arrayContaining(stable));
    // A line neither json call saw can only be one of the shell's short-lived sleeps.
    const transient = table.slice(1).filter((l, i) => !before.includes(listed[i]!) && !after.includes(listed[i]!));
    expect(transient.every((l) => /\bsleep\b/.test(l))).toBe(true);
    expect(table.join('\n')).not.toMatch(/kata-agent/);
    step('ListProcesses');

    // UpdateContainer changes the cgroup: the new limit shows in the stats.
    await agent.updateContainer({ containerId: 'cb', resources: { Memory: { Limit: 256 << 20 }, Pids: { Limit: 500 } } });
    const updated = await agent.statsContainer({ containerId: 'cb' });
    expect(Number(updated.cgroupStats?.memoryStats?.usage?.limit)).toBe(256 << 20);
    expect(Number(updated.cgroupStats?.pidsStats?.limit)).toBe(500);

    // OOM: a container with an 8 MiB limit whose init wants 32 MiB; GetOOMEvent names it.
    rootfs('cc');
    const oomSpec = spec('cc', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=32M', 'count=1']);
    oomSpec.Linux!.Resources = { Memory: { Limit: 8 << 20, Swap: 8 << 20 } };
    const oomEvent = agent.getOOMEvent({});
    await agent.createContainer({ containerId: 'cc', execId: 'cc', OCI: oomSpec });
    await agent.startContainer({ containerId: 'cc' });
    expect((await agent.waitProcess({ containerId: 'cc', execId: '' })).status).toBe(137);
    expect((await oomEvent).containerId).toBe('cc');
    await agent.removeContainer({ containerId: 'cc' });
    step('OOM event');

    // SIGTERM to the container: its handler exits 143.
    await agent.signalProcess({ containerId: 'cb', execId: '', signal: 15 });
    expect((await readAll(agent, 'cb', '', 'stdout')).toString()).toContain('bye');
    expect((await agent.waitProcess({ containerId: 'cb', execId: '' })).status).toBe(143);
    step('container B exited 143 on SIGTERM');

    const metrics = await agent.getMetrics({});
    expect(metrics.metrics).toMatch(/^kata_agent_total_rss \d+/m);
    expect(metrics.metrics).toMatch(/^kata_guest_meminfo\{item="MemTotal"\} \d+/m);
    const details = await agent.getGuestDetails({ memBlockSize: true, memHotplugProbe: true });
    expect(Number(details.memBlockSizeBytes)).toBeGreaterThan(0);
    await agent.setGuestDateTime({ Sec: Math.floor(Date.now() / 1000), Usec: 0 });
    await agent.onlineCPUMem({ wait: false, nbCpus: 1, cpuOnly: true });
    expect((await agent.listInterfaces({})).Interfaces.map((i) => i.name)).toContain('lo');
    await expect(agent.getIPTables({ isIpv6: false })).rejects.toMatchObject({ code: 12 });
    await agent.removeContainer({ containerId: 'ca' });
    await agent.removeContainer({ containerId: 'cb' });
    await expect(agent.statsContainer({ containerId: 'cb' })).rejects.toMatchObject({ code: 5 });
    step('containers removed');

    await agent.destroySandbox({});
    const code = await within(vm.exited, 60_000);
    expect(code).not.toBe('timeout');
    step(`QEMU exited by itself (${((performance.now() - t0) / 1000).toFixed(1)} s for the sequence)`);
    expect(vm.console()).not.toMatch(/uncaught exception|unhandled rejection/);
  }, 600_000);
});
