import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, isTtrpcError } from 'ttrpc-ts';
import { ContainerdTypeUrl, TaskEvents, codecs } from '@kata-ts/protocol/containerd';
import { OciTypeUrl, packJsonAny, unpackAny } from '@kata-ts/protocol';
import { TaskHarness } from '../test-support/task-harness';

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isTtrpcError(err) ? err.code : -1;
  }
}

describe('Task service over a fake agent', () => {
  let h: TaskHarness;

  beforeEach(async () => {
    h = await TaskHarness.start();
  });

  afterEach(async () => {
    await h.close();
  });

  it('creates the sandbox VM with the first container, runs it, and drains output before the exit', async () => {
    const { stdout } = await h.run('c1', ['echo', 'hello', 'world']);
    const exit = await h.task.wait({ id: 'c1' });
    expect(exit.exitStatus).toBe(0);
    expect(exit.exitedAt?.seconds).toBeGreaterThan(1_600_000_000);
    expect(await stdout).toBe('hello world\n');
    expect(h.vms).toHaveLength(1);
    expect(h.agent.methods().slice(0, 3)).toEqual(['CreateSandbox', 'CreateContainer', 'StartContainer']);
    const create = h.agent.calls.find((c) => c.method === 'CreateContainer')?.request as { execId: string; OCI: { Root: { Path: string } } };
    expect(create.execId).toBe('c1');
    expect(create.OCI.Root.Path).toBe('/run/kata-containers/shared/containers/c1/rootfs');
    expect(h.vms[0]?.share.rootfs.get('c1')?.hostRootfs).toBe(path.join(h.dir, 'bundles', 'c1', 'rootfs'));
  });

  it('reports the exact exit status, and the VM pid as the task pid', async () => {
    await h.run('c1', ['exit', '42']);
    expect((await h.task.wait({ id: 'c1' })).exitStatus).toBe(42);
    const state = await h.task.state({ id: 'c1' });
    expect(state.status).toBe(3);
    expect(state.exitStatus).toBe(42);
    expect(state.pid).toBe(4242);
    expect((await h.task.pids({ id: 'c1' })).processes?.map((p) => p.pid)).toEqual([4242]);
    expect((await h.task.connect({ id: 'c1' })).taskPid).toBe(4242);
  });

  it('kills with SIGKILL (137) and publishes create, start, exit, delete in order', async () => {
    await h.run('c1', ['sleep']);
    expect((await h.task.state({ id: 'c1' })).status).toBe(2);
    await h.task.kill({ id: 'c1', signal: 9 });
    expect((await h.task.wait({ id: 'c1' })).exitStatus).toBe(137);
    const del = await h.task.delete({ id: 'c1' });
    expect(del.exitStatus).toBe(137);
    expect(h.publisher.topics()).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
    const exit = TaskEvents.TaskExit.codec.decode(h.publisher.events[2]!.value);
    expect(exit).toMatchObject({ containerId: 'c1', id: 'c1', exitStatus: 137, pid: 4242 });
    expect(h.agent.calls.find((c) => c.method === 'SignalProcess')?.request).toMatchObject({ containerId: 'c1', execId: '', signal: 9 });
    // The sandbox's own container stops the VM; a killed process may be killed again.
    expect(h.vms[0]!.stopped).toBeGreaterThan(0);
    expect(await code(h.task.state({ id: 'c1' }))).toBe(Code.NOT_FOUND);
  });

  it('ends a created, never started task that is killed (CRI-O stops and removes such containers)', async () => {
    const bundle = await h.bundle('c1', ['sleep']);
    await h.task.create({ id: 'c1', bundle, stdout: '', stderr: '', stdin: '' });
    const waited = h.task.wait({ id: 'c1' });
    await h.task.kill({ id: 'c1', signal: 0 });
    expect(h.agent.methods()).not.toContain('WaitProcess');
    await h.task.kill({ id: 'c1', signal: 15 });
    expect((await waited).exitStatus).toBe(143);
    expect((await h.task.state({ id: 'c1' })).status).toBe(3);
    expect(h.publisher.topics()).toEqual(['/tasks/create', '/tasks/exit']);
    expect(await code(h.task.start({ id: 'c1' }))).toBe(Code.FAILED_PRECONDITION);
    expect((await h.task.delete({ id: 'c1' })).exitStatus).toBe(143);
  });

  it('answers Kill with signal 0 (CRI-O\'s liveness probe) while the process runs, NotFound once it exited', async () => {
    await h.run('c1', ['sleep']);
    await h.task.kill({ id: 'c1', signal: 0 });
    expect(h.agent.methods()).not.toContain('SignalProcess');
    await h.task.kill({ id: 'c1', signal: 9 });
    await h.task.wait({ id: 'c1' });
    expect(await code(h.task.kill({ id: 'c1', signal: 0 }))).toBe(Code.NOT_FOUND);
  });

  it('runs execs in the same VM under their own agent ids, with their events', async () => {
    await h.run('c1', ['sleep']);
    const out = h.fifo('e1-stdout');
    const collected = h.collect(out);
    const spec = packJsonAny(OciTypeUrl.Process, { args: ['echo', 'from', 'exec'], cwd: '/' });
    await h.task.exec({ id: 'c1', execId: 'e1', stdout: out, spec });
    expect(await code(h.task.exec({ id: 'c1', execId: 'e1', spec }))).toBe(Code.ALREADY_EXISTS);
    expect((await h.task.state({ id: 'c1', execId: 'e1' })).status).toBe(1);
    await h.task.start({ id: 'c1', execId: 'e1' });
    expect((await h.task.wait({ id: 'c1', execId: 'e1' })).exitStatus).toBe(0);
    expect(await collected).toBe('from exec\n');
    const exec = h.agent.calls.find((c) => c.method === 'ExecProcess')?.request as { execId: string };
    expect(exec.execId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await h.task.delete({ id: 'c1', execId: 'e1' })).exitStatus).toBe(0);
    expect(await code(h.task.state({ id: 'c1', execId: 'e1' }))).toBe(Code.NOT_FOUND);
    expect(h.publisher.topics()).toEqual(['/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit']);
    expect(TaskEvents.TaskExit.codec.decode(h.publisher.events[4]!.value)).toMatchObject({ containerId: 'c1', id: 'e1' });
    expect(h.vms).toHaveLength(1);
  });

  it('forwards stdin and sends EOF after CloseIO once the client closes its end', async () => {
    const stdinPath = h.fifo('c1-stdin');
    const { stdout } = await h.run('c1', ['cat'], { stdin: stdinPath });
    const fd = openSync(stdinPath, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, 'piped input\n');
    await h.task.closeIO({ id: 'c1', stdin: true });
    closeSync(fd);
    expect((await h.task.wait({ id: 'c1' })).exitStatus).toBe(0);
    expect(await stdout).toBe('piped input\n');
    expect(h.agent.methods()).toContain('CloseStdin');
  });

  it('writes stderr to its own FIFO', async () => {
    const { stdout, stderr } = await h.run('c1', ['stderr', 'oops']);
    await h.task.wait({ id: 'c1' });
    expect(await stderr).toBe('oops');
    expect(await stdout).toBe('');
  });

  it('appends output to a file:// target', async () => {
    const file = path.join(h.dir, 'out.log');
    const bundle = await h.bundle('c1', ['echo', 'to', 'file']);
    await h.task.create({ id: 'c1', bundle, stdout: `file://${file}`, stderr: `file://${file}` });
    await h.task.start({ id: 'c1' });
    await h.task.wait({ id: 'c1' });
    expect(await fs.readFile(file, 'utf8')).toBe('to file\n');
  });

  it('feeds a binary:// logging binary on fd 3 once it says it is ready', async () => {
    const logger = path.join(h.dir, 'logger.sh');
    const out = path.join(h.dir, 'logged');
    await fs.writeFile(logger, '#!/bin/sh\nexec 5>&-\ncat <&3 > "$2.tmp"; echo "$CONTAINER_ID/$CONTAINER_NAMESPACE" >> "$2.tmp"; mv "$2.tmp" "$2"\n', { mode: 0o755 });
    const bundle = await h.bundle('c1', ['echo', 'logged', 'line']);
    const uri = `binary://${logger}?out=${encodeURIComponent(out)}`;
    await h.task.create({ id: 'c1', bundle, stdout: uri, stderr: uri });
    await h.task.start({ id: 'c1' });
    await h.task.wait({ id: 'c1' });
    let text = '';
    for (let i = 0; i < 100 && !text; i++) {
      text = await fs.readFile(out, 'utf8').catch(() => '');
      if (!text) await new Promise((r) => setTimeout(r, 20));
    }
    expect(text).toBe('logged line\nc1/test\n');
  });

  it('pauses and resumes through init state, refusing illegal transitions', async () => {
    const bundle = await h.bundle('c1', ['sleep']);
    await h.task.create({ id: 'c1', bundle });
    expect(await code(h.task.pause({ id: 'c1' }))).toBe(Code.FAILED_PRECONDITION);
    await h.task.start({ id: 'c1' });
    expect(await code(h.task.start({ id: 'c1' }))).toBe(Code.FAILED_PRECONDITION);
    await h.task.pause({ id: 'c1' });
    expect((await h.task.state({ id: 'c1' })).status).toBe(4);
    expect(await code(h.task.pause({ id: 'c1' }))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(h.task.delete({ id: 'c1' }))).toBe(Code.FAILED_PRECONDITION);
    await h.task.resume({ id: 'c1' });
    expect((await h.task.state({ id: 'c1' })).status).toBe(2);
    expect(h.publisher.topics()).toEqual(['/tasks/create', '/tasks/start', '/tasks/paused', '/tasks/resumed']);
  });

  it('returns cgroup v2 metrics from the agent stats', async () => {
    await h.run('c1', ['sleep']);
    const { stats } = await h.task.stats({ id: 'c1' });
    expect(stats?.type_url).toBe(ContainerdTypeUrl.CgroupsV2Metrics);
    const m = unpackAny(stats, ContainerdTypeUrl.CgroupsV2Metrics, codecs.cgroupsV2Metrics);
    expect(m.cpu).toMatchObject({ usageUsec: 5000, userUsec: 3000, systemUsec: 2000 });
    expect(m.memory).toMatchObject({ usage: 1 << 20, usageLimit: 1 << 30, anon: 4096, file: 8192 });
    expect(m.pids).toMatchObject({ current: 2, limit: 100 });
  });

  it('reports memory_events with the OOM kills the agent reported (CRI container_oom_events_total needs it present)', async () => {
    await h.run('c1', ['sleep']);
    const oomKills = async () => unpackAny((await h.task.stats({ id: 'c1' })).stats, ContainerdTypeUrl.CgroupsV2Metrics, codecs.cgroupsV2Metrics).memoryEvents;
    // Present (containerd tests the field, not the value) even before any OOM.
    expect(await oomKills()).toBeTruthy();
    expect(Number((await oomKills())?.oomKill ?? 0)).toBe(0);
    const ooms = () => h.publisher.topics().filter((t) => t === '/tasks/oom').length;
    const taken = async () => Number((await oomKills())?.oomKill ?? 0);
    for (const n of [1, 2]) {
      // The fake hands an OOM only to a waiting GetOOMEvent: send until the shim has taken this one.
      for (let i = 0; i < 100 && (await taken()) < n; i++) {
        h.agent.oom('c1');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(await taken()).toBe(2);
    // Every kill is counted; TaskOOM goes out at most once a second per container.
    expect(ooms()).toBeGreaterThanOrEqual(1);
    expect(ooms()).toBeLessThanOrEqual(2);
  });

  it('passes Update resources to the agent', async () => {
    await h.run('c1', ['sleep']);
    await h.task.update({ id: 'c1', resources: packJsonAny(OciTypeUrl.LinuxResources, { memory: { limit: 1 << 28 } }) });
    expect(h.agent.calls.find((c) => c.method === 'UpdateContainer')?.request).toMatchObject({ resources: { Memory: { Limit: 1 << 28 } } });
  });

  it('answers NOT_FOUND, UNIMPLEMENTED and INVALID_ARGUMENT where containerd expects them', async () => {
    expect(await code(h.task.state({ id: 'nope' }))).toBe(Code.NOT_FOUND);
    expect(await code(h.task.checkpoint({ id: 'nope' }))).toBe(Code.UNIMPLEMENTED);
    expect(await code(h.task.start({ id: '' }))).toBe(Code.INVALID_ARGUMENT);
    expect(await code(h.task.delete({ id: 'nope' }))).toBe(Code.NOT_FOUND);
  });

  it('gives the guest a bind of its own for a writable host mount below a read-only volume', async () => {
    const pod = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod' };
    await h.task.create({ id: 'pod', bundle: await h.bundle('pod', ['sleep'], { annotations: pod }) });
    await h.task.start({ id: 'pod' });
    const volume = '/run/kata-containers/shared/containers/app-x-vol';
    h.vms[0]!.share.submounts.set(volume, [{ path: 'tmpfs', readonly: false }]);
    const app = await h.bundle('app', ['sleep'], {
      annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod' },
      mounts: [{ destination: '/mnt', type: 'bind', source: h.dir, options: ['rbind', 'rprivate', 'ro'] }],
    });
    await h.task.create({ id: 'app', bundle: app });
    const create = h.agent.calls.filter((c) => c.method === 'CreateContainer').at(-1)?.request as { OCI: { Mounts: Array<{ destination: string; source: string; options: string[] }> } };
    expect(create.OCI.Mounts.map((m) => [m.destination, m.source, m.options.join(',')])).toEqual([
      ['/mnt', volume, 'rbind,rprivate,ro'],
      ['/mnt/tmpfs', `${volume}/tmpfs`, 'rbind,rw'],
    ]);
  });

  it('puts a pod container into the sandbox VM and refuses a second pod in one shim', async () => {
    const sandbox = await h.bundle('pod', ['sleep'], { annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod' } });
    await h.task.create({ id: 'pod', bundle: sandbox });
    await h.task.start({ id: 'pod' });
    const app = await h.bundle('app', ['exit', '3'], { annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod' } });
    await h.task.create({ id: 'app', bundle: app });
    await h.task.start({ id: 'app' });
    expect((await h.task.wait({ id: 'app' })).exitStatus).toBe(3);
    expect(h.vms).toHaveLength(1);
    await h.task.delete({ id: 'app' });
    expect(h.agent.methods()).toContain('RemoveContainer');
    expect(h.vms[0]!.stopped).toBe(0);
    const other = await h.bundle('other', ['sleep']);
    expect(await code(h.task.create({ id: 'other', bundle: other }))).toBe(Code.FAILED_PRECONDITION);
    const record = JSON.parse(await fs.readFile(path.join(app, 'kata-ts.json'), 'utf8'));
    expect(record).toMatchObject({ sandboxId: 'pod', ownsSandbox: false });
  });

  it('grows a pod VM without sizing annotations by each container memory limit, and not one sized up front', async () => {
    const pod = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod' };
    const inPod = { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod' };
    const limited = (mib: number) => ({ resources: { memory: { limit: mib * 1048576 } } });
    await h.task.create({ id: 'pod', bundle: await h.bundle('pod', ['sleep'], { annotations: pod }) });
    await h.task.create({ id: 'a', bundle: await h.bundle('a', ['sleep'], { annotations: inPod, linux: limited(256) }) });
    await h.task.create({ id: 'b', bundle: await h.bundle('b', ['sleep'], { annotations: inPod }) }); // no limit: nothing to add
    await h.task.create({ id: 'c', bundle: await h.bundle('c', ['sleep'], { annotations: inPod, linux: limited(100) }) });
    const base = h.vms[0]!.request.config.hypervisor.defaultMemory;
    expect(h.vms[0]!.memoryRequests).toEqual([base + 256, base + 356]);
    // Update raising a limit grows the VM too; lowering it does not shrink it.
    await h.task.update({ id: 'a', resources: packJsonAny(OciTypeUrl.LinuxResources, { memory: { limit: 512 * 1048576 } }) });
    await h.task.update({ id: 'a', resources: packJsonAny(OciTypeUrl.LinuxResources, { memory: { limit: 64 * 1048576 } }) });
    expect(h.vms[0]!.memoryRequests).toEqual([base + 256, base + 356, base + 612]);
  });

  it('does not hot-plug memory into a pod sized by its sandbox annotations', async () => {
    const pod = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'pod', 'io.kubernetes.cri.sandbox-memory': String(512 * 1048576) };
    await h.task.create({ id: 'pod', bundle: await h.bundle('pod', ['sleep'], { annotations: pod }) });
    const inPod = { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'pod' };
    await h.task.create({ id: 'a', bundle: await h.bundle('a', ['sleep'], { annotations: inPod, linux: { resources: { memory: { limit: 256 * 1048576 } } } }) });
    expect(h.vms[0]!.memoryRequests).toEqual([]);
  });

  it('ends every task with 255 when the VM dies', async () => {
    await h.run('c1', ['sleep']);
    const out = h.fifo('e1-out');
    void h.collect(out);
    await h.task.exec({ id: 'c1', execId: 'e1', stdout: out, spec: packJsonAny(OciTypeUrl.Process, { args: ['sleep'] }) });
    await h.task.start({ id: 'c1', execId: 'e1' });
    const initWait = h.task.wait({ id: 'c1' });
    const execWait = h.task.wait({ id: 'c1', execId: 'e1' });
    h.vms[0]!.die('test');
    expect((await execWait).exitStatus).toBe(255);
    expect((await initWait).exitStatus).toBe(255);
    const exits = h.publisher.events.filter((e) => e.topic === '/tasks/exit').map((e) => TaskEvents.TaskExit.codec.decode(e.value).id);
    expect(exits).toEqual(['e1', 'c1']);
  });

  it('Shutdown is a no-op while containers remain and stops the VM after the last delete', async () => {
    await h.run('c1', ['exit', '0']);
    await h.task.wait({ id: 'c1' });
    await h.task.shutdown({ id: 'c1' });
    expect(h.exitRequested).toBe(0);
    await h.task.delete({ id: 'c1' });
    await h.task.shutdown({ id: 'c1' });
    expect(h.exitRequested).toBe(1);
    expect(h.vms[0]!.stopped).toBeGreaterThan(0);
  });

  it('Shutdown while the first create is still booting (containerd 2.x reaping a shim it thinks leaked): the create fails and its VM stops', async () => {
    const release = h.holdBoots();
    const bundle = await h.bundle('c1', ['sleep']);
    const created = code(h.task.create({ id: 'c1', bundle, stdout: '', stderr: '', stdin: '' }));
    while (h.bootsBegun === 0) await new Promise((r) => setTimeout(r, 5));
    // What containerd 2.x sees when it reloads the shim: no task yet, so it deletes and shuts down.
    expect(await code(h.task.pids({ id: 'c1' }))).toBe(Code.NOT_FOUND);
    expect(await code(h.task.delete({ id: 'c1' }))).toBe(Code.NOT_FOUND);
    await h.task.shutdown({ id: 'c1' });
    expect(h.exitRequested).toBe(1);
    const closed = h.runtime.close(); // what serve does once the exit is requested
    release();
    expect(await created).toBe(Code.FAILED_PRECONDITION);
    await closed;
    expect(h.vms).toHaveLength(1);
    expect(h.vms[0]!.stopped).toBeGreaterThan(0);
    expect(h.agent.methods()).not.toContain('CreateContainer');
    expect(await code(h.task.state({ id: 'c1' }))).toBe(Code.NOT_FOUND);
  });

  it('delivers a ResizePty made before start once the process runs, and publishes OOM', async () => {
    const bundle = await h.bundle('c1', ['sleep']);
    await h.task.create({ id: 'c1', bundle, terminal: true });
    await h.task.resizePty({ id: 'c1', width: 80, height: 24 });
    await h.task.start({ id: 'c1' });
    expect(h.agent.calls.find((c) => c.method === 'TtyWinResize')?.request).toMatchObject({ row: 24, column: 80 });
    h.agent.oom('c1');
    for (let i = 0; i < 50 && !h.publisher.topics().includes('/tasks/oom'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.publisher.topics()).toContain('/tasks/oom');
    expect(await fs.stat(path.join(bundle, 'oom')).then(() => true)).toBe(true);
  });
});
