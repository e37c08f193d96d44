// The agent on this host (not PID 1) on a unix socket, driven through the AgentService wire API only,
// with real crun containers from a busybox rootfs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Code } from 'ttrpc-ts';
import { describeNeeding } from '../../../e2e/harness/host-requirements';
import { hostAgentSupported, HostAgent, startHostAgent } from './harness/agent-host';
import { makeBusyboxRootfs } from './harness/rootfs';
import { busyboxSpec } from './harness/spec';
import { readAll, zombiesUnder } from './harness/io';

jest.setTimeout(60_000);

describeNeeding(hostAgentSupported(), 'agent in host mode', () => {
  let h: HostAgent;
  let n = 0;
  const newContainer = async (args: string[], opts: Parameters<typeof busyboxSpec>[1] = {}): Promise<string> => {
    const id = `c${++n}`;
    makeBusyboxRootfs(path.join(h.sharedDir, id, 'rootfs'));
    await h.agent.createContainer({ containerId: id, execId: id, OCI: busyboxSpec(args, opts) });
    return id;
  };

  beforeAll(async () => {
    h = await startHostAgent();
    await h.agent.createSandbox({ sandboxId: 'sandbox1', hostname: 'pod1', dns: ['nameserver 10.0.0.1'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers Health.Check and Version', async () => {
    expect((await h.health.check({ service: '' })).status).toBe(1);
    expect((await h.health.version({ service: '' })).agentVersion).toMatch(/kata-ts/);
  });

  it('runs a container that echoes, reads its stdin and exits 42', async () => {
    const id = await newContainer(['sh', '-c', 'echo hello; read line; echo "got $line"; echo oops >&2; exit 42']);
    await h.agent.startContainer({ containerId: id });
    expect((await h.agent.writeStdin({ containerId: id, execId: id, data: Buffer.from('ping\n') })).len).toBe(5);
    await h.agent.writeStdin({ containerId: id, execId: id, data: Buffer.alloc(0) });
    const [out, err] = await Promise.all([readAll(h.agent, id, id, 'stdout'), readAll(h.agent, id, id, 'stderr')]);
    expect(out.toString()).toBe('hello\ngot ping\n');
    expect(err.toString()).toBe('oops\n');
    expect((await h.agent.waitProcess({ containerId: id, execId: id })).status).toBe(42);
    await h.agent.removeContainer({ containerId: id });
  });

  it('creates without starting, then starts', async () => {
    const id = await newContainer(['sh', '-c', 'echo started']);
    await expect(h.agent.readStdout({ containerId: id, execId: '', len: 10 }, { timeoutMs: 300 })).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    await h.agent.startContainer({ containerId: id });
    expect((await readAll(h.agent, id, '', 'stdout')).toString()).toBe('started\n');
    expect((await h.agent.waitProcess({ containerId: id, execId: '' })).status).toBe(0);
    await expect(h.agent.startContainer({ containerId: id })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
    await h.agent.removeContainer({ containerId: id });
  });

  it('turns SIGTERM to a handler-less init into SIGKILL (137); a handler or an exec sees SIGTERM (143)', async () => {
    const plain = await newContainer(['sleep', '1000']);
    await h.agent.startContainer({ containerId: plain });
    // A pid-namespace init ignores signals it has no handler for: Kata sends SIGKILL instead.
    await h.agent.signalProcess({ containerId: plain, execId: '', signal: 15 });
    expect((await h.agent.waitProcess({ containerId: plain, execId: '' })).status).toBe(137);
    await h.agent.removeContainer({ containerId: plain });

    const trapped = await newContainer(['sh', '-c', 'trap "echo bye; exit 143" TERM; echo ready; while :; do sleep 0.05; done']);
    await h.agent.startContainer({ containerId: trapped });
    await h.agent.readStdout({ containerId: trapped, execId: '', len: 100 });
    // An exec process is not a namespace init: SIGTERM kills it (128+15).
    await h.agent.execProcess({ containerId: trapped, execId: 'sleeper', process: busyboxSpec(['sleep', '1000']).Process });
    await h.agent.signalProcess({ containerId: trapped, execId: 'sleeper', signal: 15 });
    expect((await h.agent.waitProcess({ containerId: trapped, execId: 'sleeper' })).status).toBe(143);
    await h.agent.signalProcess({ containerId: trapped, execId: '', signal: 15 });
    expect((await readAll(h.agent, trapped, '', 'stdout')).toString()).toContain('bye');
    expect((await h.agent.waitProcess({ containerId: trapped, execId: '' })).status).toBe(143);
    await h.agent.removeContainer({ containerId: trapped });
  });

  it('kills the whole container with SIGKILL and an empty exec id', async () => {
    const id = await newContainer(['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    await h.agent.startContainer({ containerId: id });
    await h.agent.execProcess({ containerId: id, execId: 'e1', process: busyboxSpec(['sleep', '1000']).Process });
    await h.agent.signalProcess({ containerId: id, execId: '', signal: 9 });
    expect((await h.agent.waitProcess({ containerId: id, execId: '' })).status).toBe(137);
    expect((await h.agent.waitProcess({ containerId: id, execId: 'e1' })).status).toBe(137);
    await h.agent.removeContainer({ containerId: id });
    expect(zombiesUnder(h.proc.pid!)).toEqual([]);
  });

  it('runs exec processes with a tty and resizes them', async () => {
    const id = await newContainer(['sleep', '1000']);
    await h.agent.startContainer({ containerId: id });
    const proc = busyboxSpec(['sh', '-c', 'stty size; read x; stty size; echo "x=$x"; exit 7'], { terminal: true }).Process!;
    proc.ConsoleSize = { Height: 30, Width: 100 };
    await h.agent.execProcess({ containerId: id, execId: 'tty1', process: proc });
    let out = '';
    while (!out.includes('30 100')) out += (await h.agent.readStdout({ containerId: id, execId: 'tty1', len: 1024 })).data.toString();
    await h.agent.ttyWinResize({ containerId: id, execId: 'tty1', row: 50, column: 132 });
    await h.agent.writeStdin({ containerId: id, execId: 'tty1', data: Buffer.from('hi\n') });
    out += (await readAll(h.agent, id, 'tty1', 'stdout')).toString();
    expect(out).toContain('50 132');
    expect(out).toContain('x=hi');
    expect((await h.agent.waitProcess({ containerId: id, execId: 'tty1' })).status).toBe(7);
    // The exec is forgotten once waited for (Kata: like waitpid).
    await expect(h.agent.readStdout({ containerId: id, execId: 'tty1', len: 10 })).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await expect(h.agent.ttyWinResize({ containerId: id, execId: '', row: 1, column: 1 })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    await h.agent.removeContainer({ containerId: id });
  });

  it('delivers 10 MiB of stdout byte-exact, including output written just before exit', async () => {
    const id = await newContainer(['sh', '-c', 'head -c 10485760 /dev/urandom | tee /tmp/out | sha256sum > /tmp/sum; cat /tmp/out; echo -n END']);
    await h.agent.startContainer({ containerId: id });
    const out = await readAll(h.agent, id, id, 'stdout', 32 * 1024);
    expect(out.length).toBe(10 * 1024 * 1024 + 3);
    expect(out.subarray(-3).toString()).toBe('END');
    const sum = createHash('sha256').update(out.subarray(0, -3)).digest('hex');
    await expect(h.agent.waitProcess({ containerId: id, execId: '' })).resolves.toMatchObject({ status: 0 });
    // The container computed the sha256 of what it wrote; compare through an exec-free read of the file.
    const inContainer = readFileSync(path.join(h.sharedDir, id, 'rootfs/tmp/sum'), 'utf8').split(' ')[0];
    expect(sum).toBe(inContainer);
    await h.agent.removeContainer({ containerId: id });
  });

  it('keeps memory bounded while nobody reads a fast writer', async () => {
    const id = await newContainer(['sh', '-c', 'yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']);
    await h.agent.startContainer({ containerId: id });
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agentPid(h)}/status`, 'utf8'))![1]) * 1024;
    await new Promise((r) => setTimeout(r, 1500));
    const before = rss();
    await new Promise((r) => setTimeout(r, 1500));
    expect(rss() - before).toBeLessThan(8 << 20);
    await h.agent.signalProcess({ containerId: id, execId: '', signal: 9 });
    await h.agent.removeContainer({ containerId: id });
  });

  it('pauses and resumes through the cgroup freezer, and reports stats', async () => {
    const id = await newContainer(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
    await h.agent.startContainer({ containerId: id });
    await h.agent.readStdout({ containerId: id, execId: '', len: 64 });
    await h.agent.pauseContainer({ containerId: id });
    await expect(h.agent.pauseContainer({ containerId: id })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
    // Drain what was written before the freeze; then nothing more comes while paused.
    await new Promise((r) => setTimeout(r, 200));
    while ((await h.agent.readStdout({ containerId: id, execId: '', len: 1 << 20 }, { timeoutMs: 300 }).catch(() => null))?.data.length) { /* drain */ }
    await expect(h.agent.readStdout({ containerId: id, execId: '', len: 64 }, { timeoutMs: 500 })).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    await h.agent.resumeContainer({ containerId: id });
    expect((await h.agent.readStdout({ containerId: id, execId: '', len: 64 }, { timeoutMs: 5000 })).data.length).toBeGreaterThan(0);
    const stats = await h.agent.statsContainer({ containerId: id });
    expect(stats.cgroupStats?.cpuStats?.cpuUsage?.totalUsage).toBeGreaterThan(0);
    // ListProcesses: the container's pids, and ps output cut down to them. Frozen while listed: the shell
    // forks a new `sleep` every 50 ms, so two listings of a running container need not agree.
    await h.agent.pauseContainer({ containerId: id });
    const pids = JSON.parse(Buffer.from((await h.agent.listProcesses({ containerId: id, format: 'json', args: [] })).processList).toString()) as number[];
    expect(pids.length).toBeGreaterThan(0);
    const table = Buffer.from((await h.agent.listProcesses({ containerId: id, format: 'table', args: [] })).processList).toString().trim().split('\n');
    const pidColumn = table[0]!.trim().split(/\s+/).indexOf('PID');
    expect(pidColumn).toBeGreaterThanOrEqual(0);
    expect(table.slice(1).map((l) => Number(l.trim().split(/\s+/)[pidColumn])).sort()).toEqual([...pids].sort());
    expect(table.join('\n')).toMatch(/while :/);
    await h.agent.resumeContainer({ containerId: id });
    await expect(h.agent.listProcesses({ containerId: 'nope', format: 'json', args: [] })).rejects.toMatchObject({ code: Code.NOT_FOUND });
    await h.agent.removeContainer({ containerId: id, timeout: 10 });
  });

  it('answers GetGuestDetails, GetMetrics, ListInterfaces, ListRoutes and UNIMPLEMENTED', async () => {
    const d = await h.agent.getGuestDetails({ memBlockSize: true, memHotplugProbe: true });
    expect(d.agentDetails?.storageHandlers).toContain('9p');
    const m = await h.agent.getMetrics({});
    expect(m.metrics).toMatch(/^kata_agent_total_rss \d+/m);
    expect(m.metrics).toMatch(/^kata_agent_rss_anon \d+/m);
    expect(m.metrics).toMatch(/^kata_agent_rss_file \d+/m);
    expect(m.metrics).toMatch(/^kata_guest_meminfo\{item="MemTotal"\} \d+/m);
    expect((await h.agent.listInterfaces({})).Interfaces.some((i) => i.name === 'lo')).toBe(true);
    // Host mode shares the host's network namespace: the IPv4 routes are those of the main table.
    const routes4 = (await h.agent.listRoutes({})).Routes.filter((r) => r.family === 0);
    expect(routes4.map(({ dest, gateway, device }) => ({ dest: dest ?? '', gateway: gateway ?? '', device: device ?? '' })).sort(byRoute)).toEqual(hostRoutes4().sort(byRoute));
    await expect(h.agent.setIPTables({ isIpv6: false, data: Buffer.from('') })).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    await expect(h.agent.updateRoutes({ routes: { Routes: [] } })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
  });

  it('leaves no zombies behind', async () => {
    for (let i = 0; i < 3; i++) {
      const id = await newContainer(['sh', '-c', 'sleep 0.1 & exit 3']);
      await h.agent.startContainer({ containerId: id });
      await h.agent.execProcess({ containerId: id, execId: `z${i}`, process: busyboxSpec(['true']).Process }).catch(() => undefined);
      expect((await h.agent.waitProcess({ containerId: id, execId: '' })).status).toBe(3);
      await h.agent.removeContainer({ containerId: id });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(zombiesUnder(h.proc.pid!)).toEqual([]);
  });
});

interface RouteKey {
  dest: string;
  gateway: string;
  device: string;
}
const byRoute = (a: RouteKey, b: RouteKey): number => JSON.stringify(a).localeCompare(JSON.stringify(b));

/** This host's IPv4 main-table routes as `ip -j route` reports them, in the agent's terms ('' = default). */
function hostRoutes4(): RouteKey[] {
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'main'], { encoding: 'utf8' })) as { dst: string; gateway?: string; dev?: string }[];
  return routes
    .filter((r) => r.dev !== undefined)
    .map((r) => ({ dest: r.dst === 'default' ? '' : r.dst.includes('/') ? r.dst : `${r.dst}/32`, gateway: r.gateway ?? '', device: r.dev! }));
}

function agentPid(h: HostAgent): number {
  // unshare execs sh, which execs node: the child's pid is the agent's.
  return h.proc.pid!;
}
