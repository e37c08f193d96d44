/**
 * CRI-O's shim protocol driven by a test (CRI-O itself is not in Debian 12, and nothing can be
 * downloaded). The test plays CRI-O's `runtime_type = "vm"` code path (cri-o internal/oci/runtime_vm.go;
 * see e2e/harness/crio-shim.ts) against the INSTALLED /usr/local/bin/containerd-shim-kata-v2, with
 * real QEMU and the installed guest image:
 *
 *   - per container `start` with namespace `default`, `-address ""`, an empty TTRPC_ADDRESS and
 *     GRPC_ADDRESS, cwd = a bundle the test writes (CRI-O annotations, root.path = an overlay the test
 *     mounted, as containers/storage does; no rootfs mounts in Create), the `log` fifo made beforehand;
 *   - Create with runtimeoptions.v1.Options{config_path}, Start, Wait (exact exit code), Exec, State,
 *     Kill, Delete then Shutdown for every container;
 *   - a pod container with the sandbox's SandboxID lands in the same shim and QEMU;
 *   - CRI-O restart: the connection drops, a new one is made from <bundle>/address, State answers;
 *   - no events are published, `start` prints nothing on stderr, and nothing is left on the host.
 *
 * One VM boot for the whole file; the steps run in order and share the pod.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Code, createServiceClient, isTtrpcError, type ServiceClient } from 'ttrpc-ts';
import { ContainerdTypeUrl, TaskService, codecs } from '@kata-ts/protocol/containerd';
import { OciTypeUrl, packJsonAny } from '@kata-ts/protocol';
import {
  INSTALLED_CONFIGS, KATA_STATE_DIR, NO_LEFTOVERS, describeKata, ensureTestImage, findLeftovers, isAlive, listeningPids, mountsUnder, processArgv,
  readGuestManifest, runOk, waitUntil,
} from './harness';
import {
  FifoSet, ShimLog, addressPath, mountContainerRootfs, readAddressFile, startShimLikeCrio, unpackOciLayout, type ShimStartResult,
} from './harness/crio-shim';

const SHIM = '/usr/local/bin/containerd-shim-kata-v2';
/** CRI-O passes its own executable as -publish-binary; it does not exist here, so running it would fail loudly. */
const PUBLISH_BINARY = '/usr/local/bin/crio';
const NAMESPACE_KEY = 'containerd-namespace-ttrpc';
const SIGKILL = 9;
/** CRI-O's default container create timeout (ContainerCreateTimeout). */
const CREATE_TIMEOUT_MS = 240_000;
const STEP_TIMEOUT_MS = 240_000;
const POD_HOSTNAME = 'crio-pod';

const Status = { CREATED: 1, RUNNING: 2, STOPPED: 3 } as const;


type Task = ServiceClient<typeof TaskService>;

interface Ctr {
  id: string;
  bundle: string;
  storage: string;
  log: ShimLog;
  io?: FifoSet;
  start?: ShimStartResult;
}

/** Every path under dir, relative and sorted, directories with a trailing slash. */
async function treeOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => `${path.relative(dir, path.join(e.path, e.name))}${e.isDirectory() ? '/' : ''}`).sort();
}

describeKata("CRI-O's shim protocol driven by a test (CRI-O itself is not in Debian 12)", () => {
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const sandboxId = `crio-sb-${suffix}`;
  const appId = `crio-app-${suffix}`;
  let tmp: string;
  let layer: string;
  let configPath: string;
  let fifoRoot: string;
  let guestKernel: string;
  const ctrs = new Map<string, Ctr>();
  const execIo: FifoSet[] = [];
  let client: Client | undefined;
  let task: Task;
  let address = '';
  let shimPid = 0;
  let qemuPid = 0;

  const connect = async (addr: string) => {
    client?.close();
    client = await Client.connect(addressPath(addr), { metadata: { [NAMESPACE_KEY]: 'default' }, timeoutMs: 10_000 });
    task = createServiceClient(client, TaskService);
  };

  /** The bundle CRI-O would write: config.json with its annotations; root.path an overlay mounted beforehand. */
  const makeContainer = async (id: string, kind: 'sandbox' | 'container', args: string[]): Promise<Ctr> => {
    const storage = path.join(tmp, 'storage', 'overlay', id);
    const rootfs = await mountContainerRootfs(layer, storage);
    const bundle = path.join(tmp, 'overlay-containers', id, 'userdata');
    await mkdir(bundle, { recursive: true, mode: 0o700 });
    const files = path.join(tmp, 'files');
    const cgroupParent = `/kubepods/besteffort/pod${suffix}`;
    const annotations: Record<string, string> = {
      'io.kubernetes.cri-o.ContainerType': kind,
      'io.kubernetes.cri-o.SandboxID': sandboxId,
      'io.kubernetes.cri-o.SandboxName': `k8s_POD_crio-pod_default_${suffix}_0`,
      'io.kubernetes.cri-o.ContainerID': id,
      'io.kubernetes.cri-o.ContainerName': kind === 'sandbox' ? `k8s_POD_crio-pod_default_${suffix}_0` : `k8s_app_crio-pod_default_${suffix}_0`,
      'io.kubernetes.cri-o.Name': kind === 'sandbox' ? 'POD' : 'app',
      'io.kubernetes.cri-o.Namespace': 'default',
      'io.kubernetes.cri-o.KubeName': 'crio-pod',
      'io.kubernetes.cri-o.HostName': POD_HOSTNAME,
      'io.kubernetes.cri-o.HostNetwork': 'true',
      'io.kubernetes.cri-o.RuntimeHandler': 'kata',
      'io.kubernetes.cri-o.CgroupParent': cgroupParent,
      'io.kubernetes.cri-o.MountPoint': rootfs,
      'io.kubernetes.cri-o.Image': 'docker.io/library/busybox:kata-ts',
      'io.kubernetes.cri-o.ImageName': 'docker.io/library/busybox:kata-ts',
      'io.kubernetes.cri-o.LogPath': path.join(tmp, 'logs', `${id}.log`),
      'io.kubernetes.cri-o.Labels': JSON.stringify({ 'io.kubernetes.pod.name': 'crio-pod', 'io.kubernetes.pod.namespace': 'default' }),
      'io.kubernetes.cri-o.Annotations': '{}',
      'io.kubernetes.cri-o.Created': new Date().toISOString(),
      'io.container.manager': 'cri-o',
    };
    const spec = {
      ociVersion: '1.0.2-dev',
      process: {
        user: { uid: 0, gid: 0 },
        args,
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${POD_HOSTNAME}`],
        cwd: '/',
        capabilities: {
          bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_KILL'],
          effective: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_KILL'],
          permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_KILL'],
        },
        oomScoreAdj: kind === 'sandbox' ? -998 : 1000,
      },
      root: { path: rootfs, readonly: kind === 'sandbox' },
      hostname: POD_HOSTNAME,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
        { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/etc/resolv.conf', type: 'bind', source: path.join(files, 'resolv.conf'), options: ['ro', 'bind', 'nodev', 'nosuid', 'noexec'] },
        { destination: '/etc/hostname', type: 'bind', source: path.join(files, 'hostname'), options: ['ro', 'bind', 'nodev', 'nosuid', 'noexec'] },
        ...(kind === 'container' ? [{ destination: '/etc/hosts', type: 'bind', source: path.join(files, 'hosts'), options: ['rw', 'rbind', 'rprivate', 'bind'] }] : []),
      ],
      annotations,
      linux: {
        resources: { devices: [{ allow: false, access: 'rwm' }], cpu: { shares: 2 } },
        cgroupsPath: `${cgroupParent}/crio-${id}`,
        // Host network: no network namespace. CRI-O pins IPC and UTS; the shim must not pass host paths to the guest.
        namespaces: [
          { type: 'pid' },
          { type: 'ipc', path: path.join(tmp, 'ns', 'ipcns', sandboxId) },
          { type: 'uts', path: path.join(tmp, 'ns', 'utsns', sandboxId) },
          { type: 'mount' },
        ],
        maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
        readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    };
    writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const ctr: Ctr = { id, bundle, storage, log: await ShimLog.create(bundle) };
    ctrs.set(id, ctr);
    return ctr;
  };

  const runtimeOptions = () => ({
    type_url: ContainerdTypeUrl.RuntimeOptions,
    value: codecs.runtimeOptions.encode({ configPath }),
  });

  /** CRI-O's CreateContainer: start the shim, FIFOs, Create with the runtime options and a deadline. */
  const createLikeCrio = async (ctr: Ctr, debug = false) => {
    ctr.start = await startShimLikeCrio({ shim: SHIM, bundle: ctr.bundle, id: ctr.id, publishBinary: PUBLISH_BINARY, debug, timeoutMs: 30_000 });
    expect({ code: ctr.start.code, stderr: ctr.start.stderr }).toEqual({ code: 0, stderr: '' });
    ctr.log.drain();
    await connect(ctr.start.address);
    ctr.io = await FifoSet.create(fifoRoot, ctr.id);
    const created = await task.create(
      { id: ctr.id, bundle: ctr.bundle, rootfs: [], terminal: false, stdin: '', stdout: ctr.io.stdout.path, stderr: ctr.io.stderr.path, options: runtimeOptions() },
      { timeoutMs: CREATE_TIMEOUT_MS },
    );
    return created.pid ?? 0;
  };

  /** An exec as CRI-O's execContainerCommon makes it: the container's process spec with new args, FIFOs of its own. */
  const execLikeCrio = async (ctr: Ctr, execId: string, args: string[]) => {
    const spec = JSON.parse(readFileSync(path.join(ctr.bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const io = await FifoSet.create(fifoRoot, ctr.id);
    execIo.push(io);
    await task.exec({
      id: ctr.id, execId, terminal: false, stdin: '', stdout: io.stdout.path, stderr: io.stderr.path,
      spec: packJsonAny(OciTypeUrl.Process, { ...spec.process, args }),
    });
    await task.start({ id: ctr.id, execId });
    io.attach();
    const exit = await task.wait({ id: ctr.id, execId });
    await io.stdout.waitEof(10_000);
    await task.delete({ id: ctr.id, execId });
    return { status: exit.exitStatus ?? 0, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  const qemuProcesses = async () => {
    const out: number[] = [];
    for (const pid of [qemuPid].filter(Boolean)) if (await isAlive(pid)) out.push(pid);
    return out;
  };

  beforeAll(async () => {
    guestKernel = readGuestManifest().kernel.version;
    configPath = INSTALLED_CONFIGS.find((f) => existsSync(f)) ?? '';
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-crio-'));
    // containers/storage's graph root; a tmpfs so the overlays' upper dirs work whatever / is.
    await mkdir(path.join(tmp, 'storage'), { recursive: true });
    await runOk('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=256m', 'tmpfs', path.join(tmp, 'storage')]);
    layer = path.join(tmp, 'storage', 'layer');
    await unpackOciLayout((await ensureTestImage()).tarPath, path.join(tmp, 'storage', 'work'), layer);
    fifoRoot = path.join(tmp, 'runtime-root', 'crio', 'fifo');
    await mkdir(fifoRoot, { recursive: true, mode: 0o700 });
    const files = path.join(tmp, 'files');
    await mkdir(files, { recursive: true });
    writeFileSync(path.join(files, 'resolv.conf'), 'nameserver 127.0.0.53\n');
    writeFileSync(path.join(files, 'hostname'), `${POD_HOSTNAME}\n`);
    writeFileSync(path.join(files, 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${POD_HOSTNAME}\n`);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    const keep = process.env.KATA_TS_E2E_KEEP_LOG;
    if (keep) writeFileSync(keep, [...ctrs.values()].map((c) => `== ${c.id}\n${c.log.text}`).join('\n'));
    // Only if a step failed midway: take down what this test started (by pid), then the test's own mounts.
    let killed = false;
    for (const pid of [shimPid, qemuPid].filter(Boolean)) {
      if (!(await isAlive(pid))) continue;
      process.kill(pid, 'SIGKILL');
      killed = true;
    }
    // A SIGKILLed shim leaves its socket file; CRI-O has no `delete` action that would remove it.
    if (killed && address) await rm(addressPath(address), { force: true });
    // The shim ran in this mount namespace (CRI-O's): its share mounts would be here.
    const sbs = path.join(KATA_STATE_DIR, 'sbs', sandboxId);
    for (const m of await mountsUnder(sbs)) await runOk('umount', ['-l', m]).catch(() => undefined);
    if ((await mountsUnder(sbs)).length === 0) await rm(sbs, { recursive: true, force: true });
    for (const ctr of ctrs.values()) {
      ctr.log.close();
      await ctr.io?.remove();
    }
    for (const io of execIo) await io.remove();
    if (tmp) {
      for (const m of await mountsUnder(tmp)) await runOk('umount', ['-l', m]).catch(() => undefined);
      if ((await mountsUnder(tmp)).length === 0) await rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);

  it('start prints the address on stdout only, writes <bundle>/address, and the sandbox Create/Start boots one VM', async () => {
    const sb = await makeContainer(sandboxId, 'sandbox', ['/bin/sleep', '2147483647']);
    // -debug, as CRI-O adds at log level debug: the log fifo then shows what the shim did with events.
    const pid = await createLikeCrio(sb, true);
    address = sb.start!.address;
    // Plain address (what every consumer accepts), no trailing noise.
    expect(sb.start!.stdout).toBe(address);
    expect(address).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
    expect(await readAddressFile(sb.bundle)).toBe(address);
    shimPid = (await listeningPids(addressPath(address)))[0] ?? 0;
    expect(shimPid).toBeGreaterThan(0);
    qemuPid = pid;
    expect((await processArgv(qemuPid)).join(' ')).toContain(`sandbox-${sandboxId}`);

    expect(await task.state({ id: sandboxId })).toMatchObject({ id: sandboxId, bundle: sb.bundle, pid: qemuPid, status: Status.CREATED });
    expect((await task.start({ id: sandboxId })).pid).toBe(qemuPid);
    sb.io!.attach();
    expect(await task.state({ id: sandboxId })).toMatchObject({ status: Status.RUNNING, pid: qemuPid });
  }, STEP_TIMEOUT_MS);

  it('a container with the same SandboxID lands in the same shim and QEMU (one socket, one QEMU pid)', async () => {
    const app = await makeContainer(appId, 'container', ['sh', '-c', 'echo app-out; echo app-err >&2; hostname; cat /etc/hosts; while [ ! -e /tmp/go ]; do usleep 100000; done; exit 42']);
    const pid = await createLikeCrio(app);
    expect(app.start!.address).toBe(address);
    expect(await readAddressFile(app.bundle)).toBe(address);
    expect(pid).toBe(qemuPid);
    expect(await listeningPids(addressPath(address))).toEqual([shimPid]);
    expect((await task.start({ id: appId })).pid).toBe(qemuPid);
    app.io!.attach();
    expect(await task.state({ id: appId })).toMatchObject({ id: appId, status: Status.RUNNING, pid: qemuPid, stdout: app.io!.stdout.path });
    expect(await waitUntil(() => app.io!.stdout.text.includes('127.0.1.1'), 30_000, 100)).toBe(true);
    expect(app.io!.stdout.text).toBe(`app-out\n${POD_HOSTNAME}\n127.0.0.1 localhost\n127.0.1.1 ${POD_HOSTNAME}\n`);
    expect(await waitUntil(() => app.io!.stderr.text === 'app-err\n', 10_000, 100)).toBe(true);
  }, STEP_TIMEOUT_MS);

  it('CRI-O restart: a new connection from <bundle>/address still answers State (the old Wait ends with the connection)', async () => {
    const parkedWait = task.wait({ id: appId });
    client!.close();
    await expect(parkedWait).rejects.toThrow();
    for (const id of [sandboxId, appId]) {
      const addr = await readAddressFile(ctrs.get(id)!.bundle);
      expect(addr).toBe(address);
      await connect(addr);
      expect(await task.state({ id })).toMatchObject({ id, status: Status.RUNNING, pid: qemuPid });
    }
    expect(await listeningPids(addressPath(address))).toEqual([shimPid]);
  }, STEP_TIMEOUT_MS);

  it('Exec runs in the pod VM; Wait gives the exact exit code (42); Delete then Shutdown keeps the pod', async () => {
    const app = ctrs.get(appId)!;
    const waited = task.wait({ id: appId });
    const exec = await execLikeCrio(app, 'exec-go', ['sh', '-c', 'uname -r; hostname; echo exec-err >&2; touch /tmp/go; exit 3']);
    expect(exec).toEqual({ status: 3, stdout: `${guestKernel}\n${POD_HOSTNAME}\n`, stderr: 'exec-err\n' });
    expect(guestKernel).not.toBe(os.release());
    expect((await waited).exitStatus).toBe(42);
    expect(await task.state({ id: appId })).toMatchObject({ status: Status.STOPPED, exitStatus: 42 });
    // Output of the container is complete and its FIFOs closed by the shim once it exited.
    expect(await app.io!.stdout.waitEof(10_000)).toBe(true);

    expect(await task.delete({ id: appId })).toMatchObject({ pid: qemuPid, exitStatus: 42 });
    await task.shutdown({ id: appId });
    // Shutdown with the sandbox still there is a no-op: same shim, same VM, still answering.
    expect(await isAlive(shimPid)).toBe(true);
    expect(await isAlive(qemuPid)).toBe(true);
    expect(await task.state({ id: sandboxId })).toMatchObject({ status: Status.RUNNING });
    await expect(task.state({ id: appId })).rejects.toMatchObject({ code: Code.NOT_FOUND });
    // The app's rootfs went back: CRI-O can unmount its overlay.
    await runOk('umount', [path.join(app.storage, 'merged')]);
  }, STEP_TIMEOUT_MS);

  it('Kill, Wait (137), Delete, Shutdown of the sandbox: the shim exits and the VM is gone', async () => {
    const sb = ctrs.get(sandboxId)!;
    const waited = task.wait({ id: sandboxId });
    await task.kill({ id: sandboxId, signal: SIGKILL, all: false });
    expect((await waited).exitStatus).toBe(137);
    expect(await task.delete({ id: sandboxId })).toMatchObject({ pid: qemuPid, exitStatus: 137 });
    await task.shutdown({ id: sandboxId }).catch((err: unknown) => {
      // The shim may close the connection before the reply gets out; CRI-O accepts ttrpc.ErrClosed.
      if (!(isTtrpcError(err) && err.code === Code.UNAVAILABLE) && !(err instanceof Error && /closed/i.test(err.message))) throw err;
    });
    expect(await waitUntil(async () => !(await isAlive(shimPid)) && (await qemuProcesses()).length === 0, 30_000, 100)).toBe(true);
    expect(existsSync(addressPath(address))).toBe(false);
    // The daemon held the log fifo; its exit closes it.
    expect(await sb.log.waitEof(10_000)).toBe(true);
    const log = sb.log.text;
    expect(log).toContain('shim serving');
    // TTRPC_ADDRESS was empty: every event was only logged, none published, no publish binary run.
    expect(log).toContain('event (no TTRPC_ADDRESS, not published)');
    expect(log).not.toMatch(/publishing event failed|evicting event/);
    expect(await runOk('umount', [path.join(sb.storage, 'merged')]).then(() => true)).toBe(true);
  }, STEP_TIMEOUT_MS);

  it('leaves no shim, QEMU, mount, socket or file behind', async () => {
    for (const ctr of ctrs.values()) {
      ctr.log.close();
      await ctr.io?.remove();
    }
    for (const io of execIo.splice(0)) await io.remove();
    await runOk('umount', [path.join(tmp, 'storage')]);
    const footprint = {
      paths: [path.join(KATA_STATE_DIR, 'sbs', sandboxId), addressPath(address), tmp],
      pids: [shimPid, qemuPid],
    };
    // Checked while the test's own directory is still there (removing it first would take whatever the
    // shim left under it away unseen): it is the one path expected to exist, with no mount or socket under it.
    const expected = { ...NO_LEFTOVERS, paths: [tmp] };
    let left = await findLeftovers(footprint);
    await waitUntil(async () => JSON.stringify((left = await findLeftovers(footprint))) === JSON.stringify(expected), 10_000, 200);
    expect(left).toEqual(expected);
    // Under it: only what the test wrote as CRI-O would, and in each bundle the address file the shim's
    // start writes and the shim's kata-ts.json (which sandbox the container was in, for a `delete` after
    // the shim is gone); CRI-O removes the bundle, so the shim need not. Anything else is a leftover.
    const wrote = ['storage/', 'files/', 'files/hostname', 'files/hosts', 'files/resolv.conf', 'runtime-root/', 'runtime-root/crio/', 'runtime-root/crio/fifo/', 'overlay-containers/'];
    for (const id of ctrs.keys()) {
      const bundle = `overlay-containers/${id}/userdata/`;
      wrote.push(`overlay-containers/${id}/`, bundle, `${bundle}config.json`, `${bundle}log`, `${bundle}address`, `${bundle}kata-ts.json`);
    }
    expect(await treeOf(tmp)).toEqual(wrote.sort());
    // The test's own directory goes as CRI-O would remove its bundles.
    await rm(tmp, { recursive: true, force: true });
    const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(sandboxId) || l.includes(appId));
    expect(hostMounts).toEqual([]);
  }, 60_000);
}, existsSync(SHIM) ? undefined : `${SHIM} is not installed (run scripts/install.sh)`);
