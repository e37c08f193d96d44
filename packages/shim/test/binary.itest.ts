/**
 * The containerd-shim-kata-v2 binary against containerd's binary contract: `start` (legacy and 2.3
 * BootstrapParams stdin), the detached daemon, Connect and Shutdown over ttrpc, pod grouping, the `log`
 * fifo, `delete`, `-v` and `-info`, without a VM; and the task events the daemon publishes to
 * TTRPC_ADDRESS for a task it runs, with the installed configuration's VM (root, kata-ts installed).
 */
import { execFileSync, spawn } from 'node:child_process';
import { constants, existsSync, openSync, closeSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Server, createServiceClient } from 'ttrpc-ts';
import { EventsService, TaskEvents, TaskService, codecs } from '@kata-ts/protocol/containerd';
import { OciTypeUrl, unpackJsonAny } from '@kata-ts/protocol';
import { pidAlive as alive } from '../src/framework/pid-alive';
import { itNeeding } from '../../../e2e/harness/host-requirements';
import { makeBusyboxRootfs } from '../../agent/test/harness/rootfs';

/** Where scripts/install.sh puts the configuration the shim reads when nothing names another. */
const INSTALLED_CONFIGS = ['/etc/kata-ts/configuration.toml', '/usr/share/defaults/kata-ts/configuration.toml'];
/** Why this host cannot run a task through the shim (it boots the installed configuration's VM). */
const taskSkipReason = process.getuid?.() !== 0 ? 'needs root'
  : !INSTALLED_CONFIGS.some((f) => existsSync(f)) ? 'needs kata-ts installed (scripts/install.sh)' : undefined;

const REPO = path.resolve(__dirname, '..', '..', '..');
let dir: string;
let shim: string;
/** Cleanups a test registered, run even when it failed midway (a live daemon or an open fifo would keep jest alive). */
const cleanups: Array<() => unknown> = [];

interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

function runShim(args: string[], opts: { cwd: string; input?: Uint8Array; env?: NodeJS.ProcessEnv }): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [shim, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // containerd waits for stdout/stderr to close: a daemon holding them would hang this.
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 }));
    child.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}

async function makeBundle(id: string, annotations: Record<string, string> = {}): Promise<string> {
  const bundle = path.join(dir, 'bundles', id);
  await fs.mkdir(bundle, { recursive: true });
  await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'] }, root: { path: 'rootfs' }, annotations }));
  execFileSync('mkfifo', [path.join(bundle, 'log')]);
  return bundle;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-bin-'));
  shim = path.join(dir, 'containerd-shim-kata-v2.js');
  execFileSync(process.execPath, [path.join(REPO, 'packages/shim/scripts/bundle.mjs'), shim], { stdio: 'ignore' });
}, 60_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Stops a daemon the test started, by pid, if it is still alive. */
function killIfAlive(pid: number): void {
  if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
}

describe('containerd-shim-kata-v2 binary', () => {
  it('prints its version and a RuntimeInfo', async () => {
    const v = await runShim(['-v'], { cwd: dir });
    expect(v.stdout.toString()).toMatch(/Version: \d+\.\d+\.\d+/);
    const info = codecs.runtimeInfo.decode((await runShim(['-info'], { cwd: dir })).stdout);
    expect(info.name).toBe('io.containerd.kata.v2');
    // containerd 2.x's CRI offers recursive read-only mounts for a handler whose features list `rro`.
    const features = unpackJsonAny<{ mountOptions: string[]; ociVersionMax: string }>(info.features!, OciTypeUrl.Features);
    expect(features.mountOptions).toEqual(expect.arrayContaining(['rro', 'ro', 'rbind']));
    // CRI-O asks the runtime binary `features`, as it does runc.
    expect(JSON.parse((await runShim(['features'], { cwd: dir })).stdout.toString())).toEqual(features);
  });

  it('start → detached daemon → Connect, pod grouping, no events without a task, Shutdown, delete', async () => {
    const socketDir = path.join(dir, 's');
    const ctrdAddress = path.join(dir, 'containerd.sock');
    // containerd's side: a ttrpc Events server, and the log fifo held open O_RDWR.
    const events: string[] = [];
    const eventServer = new Server().register(EventsService, { forward: (req) => (events.push(req.envelope?.topic ?? ''), {}) });
    await eventServer.listen(`${ctrdAddress}.ttrpc`);
    cleanups.push(() => eventServer.close());
    const bundle = await makeBundle('sb', { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'sb' });
    const logFd = openSync(path.join(bundle, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
    const logSock = new net.Socket({ fd: logFd, readable: true, writable: false });
    let logText = '';
    logSock.on('data', (d: Buffer) => (logText += d.toString()));
    cleanups.push(() => logSock.destroy());

    const params = codecs.bootstrapParams.encode({ instanceId: 'sb', namespace: 'ns1', containerdTtrpcAddress: `${ctrdAddress}.ttrpc`, socketDir });
    const flags = ['-namespace', 'ns1', '-address', ctrdAddress, '-publish-binary', '/usr/bin/containerd', '-id', 'sb', '-some-future-flag', 'start'];
    const started = await runShim(flags, { cwd: bundle, input: params, env: { TTRPC_ADDRESS: '' } });
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    // BootstrapParams in, a BootstrapResult out: task API v3 over ttrpc at the group's socket.
    const result = codecs.bootstrapResult.decode(started.stdout);
    expect(result).toMatchObject({ version: 3, protocol: 'ttrpc' });
    const address = result.address ?? '';
    expect(address).toMatch(new RegExp(`^unix://${socketDir}/[0-9a-f]{64}$`));
    expect(readFileSync(path.join(bundle, 'address'), 'utf8')).toBe(address);
    const sockPath = address.slice('unix://'.length);
    expect((await fs.stat(socketDir)).mode & 0o777).toBe(0o700);

    const client = await Client.connect(sockPath, { metadata: { 'containerd-namespace-ttrpc': 'ns1' } });
    const task = createServiceClient(client, TaskService);
    const { shimPid } = await task.connect({ id: 'sb' });
    cleanups.push(() => client.close(), () => killIfAlive(shimPid ?? 0));
    expect(shimPid).toBeGreaterThan(0);
    expect(shimPid).not.toBe(process.pid);
    // Detached: a session of its own.
    const sid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]);
    expect(sid(shimPid)).toBe(shimPid);

    // A later container of the pod gets the same address and no new process.
    const app = await makeBundle('app', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb' });
    const second = await runShim(['-namespace', 'ns1', '-address', ctrdAddress, '-id', 'app', 'start'], {
      cwd: app, input: codecs.bootstrapParams.encode({ instanceId: 'app', namespace: 'ns1', socketDir }),
    });
    expect(codecs.bootstrapResult.decode(second.stdout).address).toBe(address);
    expect(readFileSync(path.join(app, 'address'), 'utf8')).toBe(address);
    // The same join through the legacy start (containerd 1.6/1.7: no socket_dir, so containerd's default)
    // prints the bare address of the group, same hash.
    const legacy = await runShim(['-namespace', 'ns1', '-address', ctrdAddress, '-id', 'app', 'start'], { cwd: app });
    expect(legacy.stdout.toString()).toBe(`unix:///run/containerd/s/${path.basename(address)}`);

    // start for the same group while the daemon lives finds it.
    const again = await runShim(flags, { cwd: bundle, input: params });
    expect(codecs.bootstrapResult.decode(again.stdout).address).toBe(address);

    await task.shutdown({ id: 'sb' }).catch(() => undefined);
    client.close();
    for (let i = 0; i < 100 && alive(shimPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(shimPid)).toBe(false);
    await expect(fs.stat(sockPath)).rejects.toThrow();
    expect(logText).toMatch(/"msg":"shim serving"/);

    const deleted = await runShim(['-namespace', 'ns1', '-address', ctrdAddress, '-id', 'sb', '-bundle', bundle, 'delete'], { cwd: bundle });
    expect(deleted.code).toBe(0);
    expect(codecs.deleteResponse.decode(deleted.stdout)).toMatchObject({ exitStatus: 137 });
    const twice = await runShim(['-namespace', 'ns1', '-address', ctrdAddress, '-id', 'sb', 'delete'], { cwd: bundle });
    expect(twice.code).toBe(0);

    logSock.destroy();
    closeSync(openSync('/dev/null', 'r'));
    await eventServer.close();
    expect(events).toEqual([]);
  }, 30_000);

  itNeeding(taskSkipReason, 'publishes a task\'s create, start, exit and delete events to TTRPC_ADDRESS, in order, for its namespace', async () => {
    const socketDir = path.join(dir, 's3');
    const ctrdAddress = path.join(dir, 'containerd3.sock');
    const events: { topic: string; namespace: string; typeUrl: string; value: Uint8Array }[] = [];
    const eventServer = new Server().register(EventsService, {
      forward: (req) => {
        const e = req.envelope;
        events.push({ topic: e?.topic ?? '', namespace: e?.namespace ?? '', typeUrl: e?.event?.type_url ?? '', value: e?.event?.value ?? new Uint8Array() });
        return {};
      },
    });
    await eventServer.listen(`${ctrdAddress}.ttrpc`);
    cleanups.push(() => eventServer.close());
    const id = `ev-${process.pid}`;
    const bundle = await makeBundle(id);
    makeBusyboxRootfs(path.join(bundle, 'rootfs'));
    await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      process: { args: ['sh', '-c', 'exit 3'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
      root: { path: 'rootfs' },
      hostname: id,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
    }));
    const logFd = openSync(path.join(bundle, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
    const logSock = new net.Socket({ fd: logFd, readable: true, writable: false });
    logSock.resume();
    cleanups.push(() => logSock.destroy());

    const params = codecs.bootstrapParams.encode({ instanceId: id, namespace: 'ns3', containerdTtrpcAddress: `${ctrdAddress}.ttrpc`, socketDir });
    const started = await runShim(['-namespace', 'ns3', '-address', ctrdAddress, '-id', id, 'start'], { cwd: bundle, input: params, env: { TTRPC_ADDRESS: '' } });
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    const client = await Client.connect(codecs.bootstrapResult.decode(started.stdout).address!.slice('unix://'.length), { metadata: { 'containerd-namespace-ttrpc': 'ns3' } });
    const task = createServiceClient(client, TaskService);
    const { shimPid } = await task.connect({ id });
    cleanups.push(() => client.close(), () => killIfAlive(shimPid ?? 0));
    // Whatever happens below, the VM goes with the daemon.
    cleanups.push(async () => {
      await task.delete({ id }).catch(() => undefined);
      await task.shutdown({ id }).catch(() => undefined);
    });

    const { pid } = await task.create({ id, bundle, rootfs: [], terminal: false, stdin: '', stdout: '', stderr: '' }, { timeoutMs: 120_000 });
    expect(pid).toBeGreaterThan(0);
    const exited = task.wait({ id }, { timeoutMs: 60_000 });
    await task.start({ id });
    expect((await exited).exitStatus).toBe(3);
    expect(await task.delete({ id })).toMatchObject({ exitStatus: 3 });
    for (let i = 0; i < 250 && !events.some((e) => e.topic === TaskEvents.TaskDelete.topic); i++) await new Promise((r) => setTimeout(r, 20));

    expect(events.map((e) => `${e.namespace} ${e.topic} ${e.typeUrl}`)).toEqual([TaskEvents.TaskCreate, TaskEvents.TaskStart, TaskEvents.TaskExit, TaskEvents.TaskDelete]
      .map((k) => `ns3 ${k.topic} ${k.typeUrl}`));
    const [create, start, exit, del] = events;
    expect(TaskEvents.TaskCreate.codec.decode(create!.value)).toMatchObject({ containerId: id, bundle, pid });
    expect(TaskEvents.TaskStart.codec.decode(start!.value)).toMatchObject({ containerId: id, pid });
    expect(TaskEvents.TaskExit.codec.decode(exit!.value)).toMatchObject({ containerId: id, id, pid, exitStatus: 3 });
    expect(TaskEvents.TaskDelete.codec.decode(del!.value)).toMatchObject({ containerId: id, pid, exitStatus: 3 });

    await task.shutdown({ id }).catch(() => undefined);
    client.close();
    for (let i = 0; i < 500 && alive(shimPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(shimPid)).toBe(false);
  }, 180_000);

  it('starts a shim of its own for a bundle without config.json (containerd 2.x sandbox controller)', async () => {
    const sandboxBundle = path.join(dir, 'bundles', 'sandbox-only');
    await fs.mkdir(sandboxBundle, { recursive: true });
    const socketDir = path.join(dir, 's2');
    const params = codecs.bootstrapParams.encode({ instanceId: 'pod', namespace: 'ns2', socketDir });
    const r = await runShim(['-namespace', 'ns2', '-address', path.join(dir, 'c2.sock'), '-id', 'pod', 'start'], { cwd: sandboxBundle, input: params });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const address = codecs.bootstrapResult.decode(r.stdout).address ?? '';
    expect(address).toMatch(new RegExp(`^unix://${socketDir}/[0-9a-f]{64}$`));
    const client = await Client.connect(address.slice('unix://'.length), { metadata: { 'containerd-namespace-ttrpc': 'ns2' } });
    const { shimPid } = await createServiceClient(client, TaskService).connect({ id: 'pod' });
    cleanups.push(() => client.close(), () => killIfAlive(shimPid ?? 0));
    expect(shimPid).toBeGreaterThan(0);
    expect(shimPid).not.toBe(process.pid);
  });

  it('refuses a start whose stdin it cannot read, with a message on stderr and nothing on stdout', async () => {
    const bundle = await makeBundle('garbage');
    const r = await runShim(['-namespace', 'ns', '-address', '/x', '-id', 'garbage', 'start'], { cwd: bundle, input: Buffer.from([0x0a, 0x00]) });
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/io.containerd.kata.v2: start: .*unknown start protocol/);
  });
});
