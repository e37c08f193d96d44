/**
 * containerd 2.x's Sandbox API with kata-ts: a private containerd 2.x whose CRI handler `kata-shim`
 * (runtime_type io.containerd.kata.v2) says `sandboxer = "shim"`. RunPodSandbox then makes no pause
 * container: containerd's shim sandbox controller starts our shim for the pod and calls
 * CreateSandbox/StartSandbox on it, which boot the pod's VM; the pod's containers join that VM over
 * the address StartSandbox's shim returned (task API v3: containerd runs no `start` for them).
 *
 * Pod 1 (host network, pod-level resources): no pause anywhere (no containerd container or task for
 * the pod, no spec in its bundle, the shim says so), the VM sized from the PodSandboxConfig, two
 * containers in one QEMU, exec, logs, status, and nothing left after StopPodSandbox/RemovePodSandbox.
 * Pod 2 (CNI bridge in a test-owned netns): the netns CreateSandbox names gives the guest its pod IP,
 * and the shim takes its tap with it.
 *
 * Uses the installed shim, configuration and guest image (scripts/install.sh); images are built
 * locally (the pause image only because the CRI checks it exists), never pulled.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pb } from '@kata-ts/protocol/cri';
import {
  CRI_NAMESPACE, CriClient, INSTALLED_CONFIGS, KATA_STATE_DIR, NO_LEFTOVERS, PrivateContainerd, availableContainerds, describeKata, ensurePauseImage,
  ensureTestImage, findLeftovers, readGuestManifest, run, runOk, waitUntil, type ContainerdFlavour, type GuestManifest,
} from './harness';
import { listProcesses } from './harness/procfs';
import { TestNetns, bridgeConflist } from './harness/test-netns';

const v1 = pb.runtime.v1;
const HANDLER = 'kata-shim';
const RUNTIME = 'io.containerd.kata.v2';
const POD_HOSTNAME = 'kata-sandbox-api';
const SUBNET = '10.88.78.0/24';
const GATEWAY = '10.88.78.1';
const CNI_BIN = '/usr/lib/cni';
const TEST_TIMEOUT_MS = 240_000;

const flavour: ContainerdFlavour | undefined = availableContainerds().flavours.find((f) => f.label === '2.x');
const missing = flavour ? undefined : 'containerd 2.x is not built (scripts/install-peers.sh containerd2)';

const inNetns = (nsPath: string, argv: string[]) => run('nsenter', [`--net=${nsPath}`, '--', ...argv], { timeoutMs: 15_000 });

describeKata('kata-ts as containerd 2.x shim sandboxer (Sandbox API, no pause container)', () => {
  let netns: TestNetns | undefined;
  let ctd: PrivateContainerd;
  let cri: CriClient;
  let manifest: GuestManifest;
  let tmp: string;
  let busybox: string;
  /** Pods still to remove if a test failed midway. */
  const pods: string[] = [];
  const holds: string[] = [];

  beforeAll(async () => {
    manifest = readGuestManifest();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-sbx-'));
    netns = await TestNetns.create('katats-sbx');
    const [pause, image] = await Promise.all([ensurePauseImage(), ensureTestImage()]);
    busybox = image.ref;
    ctd = await PrivateContainerd.start({
      flavour,
      namespace: CRI_NAMESPACE,
      netnsPath: netns.path,
      cri: {
        sandboxImage: pause.ref,
        runtimes: { [HANDLER]: { runtimeType: RUNTIME, sandboxer: 'shim' } },
        cni: { binDir: CNI_BIN, conflist: bridgeConflist({ name: 'kata-ts-sandbox-api', bridge: 'katats1', subnet: SUBNET, ipamDir: path.join(tmp, 'ipam') }) },
      },
    });
    await ctd.importImage(pause.tarPath);
    await ctd.importImage(image.tarPath);
    cri = new CriClient(ctd.layout.address);
    await cri.waitReady();
  }, 120_000);

  afterAll(async () => {
    for (const pod of pods) {
      await cri?.stopPodSandbox(pod).catch(() => undefined);
      await cri?.removePodSandbox(pod).catch(() => undefined);
    }
    cri?.close();
    if (ctd && process.env.KATA_TS_E2E_KEEP_LOG) writeFileSync(process.env.KATA_TS_E2E_KEEP_LOG, readFileSync(ctd.layout.logFile));
    await ctd?.stop();
    for (const h of holds) await run('umount', [h]);
    await netns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (ctd) expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
  }, 120_000);

  const hostNetwork = { namespaceOptions: { network: v1.NamespaceMode.NODE, pid: v1.NamespaceMode.CONTAINER, ipc: v1.NamespaceMode.POD } };
  /** What the kubelet sends without shareProcessNamespace (the CRI's zero value, POD, would ask to share it). */
  const ownPid = { namespaceOptions: { pid: v1.NamespaceMode.CONTAINER } };
  const containerConfig = (name: string, command: string[], securityContext?: object): pb.runtime.v1.ContainerConfig.$Properties => ({
    metadata: { name, attempt: 0 },
    image: { image: busybox },
    command,
    logPath: `${name}.log`,
    ...(securityContext ? { linux: { securityContext } } : {}),
  });

  /** Where containerd's shim sandbox controller keeps a pod's bundle (its plugin's state directory, not the tasks'). */
  const sandboxBundle = (pod: string) => path.join(ctd.layout.state, 'io.containerd.sandbox.controller.v1.shim', CRI_NAMESPACE, pod);

  /** The pod's shims and QEMUs: the shim by our containerd's address and the pod id, QEMU by its sandbox name. */
  const kataProcesses = async (pod: string) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(ctd.layout.address) && p.argv.includes(pod)) ||
      p.argv.includes(`sandbox-${pod}`)));

  /** Our shim's own view of the pod (SandboxStatus verbose info, through the CRI's PodSandboxStatus). */
  async function podStatus(pod: string): Promise<{ state: number | null | undefined; ip: string; shim: { state?: string; hypervisorPid?: number; netns?: string } }> {
    const r = await cri.call('podSandboxStatus', { podSandboxId: pod, verbose: true });
    return { state: r.status?.state, ip: r.status?.network?.ip ?? '', shim: JSON.parse(r.info?.['kata-ts'] ?? '{}') as { state?: string } };
  }

  /** Waits until the pod's shim, QEMU and host files are gone; returns what is left. */
  async function settled(pod: string, extraPaths: string[] = []) {
    const footprint = { paths: [path.join(KATA_STATE_DIR, 'sbs', pod), ...extraPaths] };
    let left = await findLeftovers(footprint);
    let procs = await kataProcesses(pod);
    await waitUntil(async () => {
      left = await findLeftovers(footprint);
      procs = await kataProcesses(pod);
      return procs.length === 0 && JSON.stringify(left) === JSON.stringify(NO_LEFTOVERS);
    }, 20_000, 200);
    return { left, procs: procs.map((p) => `${p.pid} ${p.argv.slice(0, 4).join(' ')}`) };
  }

  it('boots the pod VM from CreateSandbox/StartSandbox with no pause container, runs two containers in it, and leaves nothing', async () => {
    const t0 = Date.now();
    const podConfig: pb.runtime.v1.PodSandboxConfig.$Properties = {
      metadata: { name: 'kata-sandbox-api', namespace: 'default', uid: `kata-sbx-${process.pid}`, attempt: 0 },
      hostname: POD_HOSTNAME,
      logDirectory: tmp,
      annotations: { 'example.com/owner': 'kata-ts-e2e' },
      // Pod-level resources: what a pause container's sizing annotations would carry; here the shim reads them.
      linux: { securityContext: hostNetwork, resources: { cpuPeriod: 100_000, cpuQuota: 100_000, memoryLimitInBytes: 256 * 1048576 } },
    };
    const pod = await cri.runPodSandbox(podConfig, HANDLER);
    pods.push(pod);
    const tPod = Date.now();

    // No pause: containerd has neither a container nor a task for the pod, its bundle holds no spec,
    // and the sandbox store says the shim controller owns it.
    const containers = (await ctd.ctrOk(['containers', 'ls', '-q'], { namespace: CRI_NAMESPACE })).split('\n').filter(Boolean);
    expect(containers).not.toContain(pod);
    expect((await ctd.tasks(CRI_NAMESPACE)).map((t) => t.id)).not.toContain(pod);
    expect(existsSync(path.join(sandboxBundle(pod), 'config.json'))).toBe(false);
    expect(existsSync(ctd.bundleDir(pod, CRI_NAMESPACE))).toBe(false);
    expect(await ctd.ctrOk(['sandboxes', 'ls'], { namespace: CRI_NAMESPACE })).toContain(pod);
    const log = readFileSync(ctd.layout.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`"sandbox":"${pod}".*no pause container`));

    // One shim and one QEMU, sized from the PodSandboxConfig: +1 vCPU, +256 MiB over the defaults.
    let procs = await kataProcesses(pod);
    const qemu = procs.find((p) => p.argv.includes(`sandbox-${pod}`));
    const defaultMemory = Number(/^default_memory = (\d+)/m.exec(readFileSync(INSTALLED_CONFIGS[INSTALLED_CONFIGS.length - 1]!, 'utf8'))?.[1]);
    const qemuArgv = qemu?.argv.join(' ') ?? '';
    expect(qemuArgv).toMatch(new RegExp(`-m ${defaultMemory + 256}M`));
    expect(qemuArgv).toMatch(/-smp 2\b/);
    const status = await podStatus(pod);
    expect(status.state).toBe(v1.PodSandboxState.SANDBOX_READY);
    expect(status.shim).toMatchObject({ state: 'ready', hypervisorPid: qemu?.pid });

    const sleeper = await cri.createContainer(pod, containerConfig('sleeper', ['sleep', '600'], hostNetwork), podConfig);
    await cri.startContainer(sleeper);
    const exiter = await cri.createContainer(pod, containerConfig('exiter', ['sh', '-c', 'echo hello from exiter; exit 3'], hostNetwork), podConfig);
    await cri.startContainer(exiter);
    const tStarted = Date.now();

    let exited = await cri.containerStatus(exiter);
    await waitUntil(async () => (exited = await cri.containerStatus(exiter)).state === v1.ContainerState.CONTAINER_EXITED, 30_000, 200);
    expect(exited).toMatchObject({ state: v1.ContainerState.CONTAINER_EXITED, exitCode: 3 });
    expect(readFileSync(path.join(tmp, 'exiter.log'), 'utf8')).toMatch(/ stdout F hello from exiter\n$/);

    // ExecSync: the guest's kernel, the pod's hostname, exit codes and both streams.
    expect(await cri.execSync(sleeper, ['uname', '-r'])).toMatchObject({ exitCode: 0, stdout: `${manifest.kernel.version}\n` });
    expect(manifest.kernel.version).not.toBe(os.release());
    expect(await cri.execSync(sleeper, ['hostname'])).toMatchObject({ exitCode: 0, stdout: `${POD_HOSTNAME}\n` });
    expect(await cri.execSync(sleeper, ['sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });

    // Still one shim and one QEMU: both containers joined the sandbox's VM, through the shim's one socket.
    procs = await kataProcesses(pod);
    expect(procs.filter((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')))).toHaveLength(1);
    expect(procs.filter((p) => p.argv.includes(`sandbox-${pod}`)).map((p) => p.pid)).toEqual([qemu?.pid]);
    // The pod's shim wrote its address in the sandbox bundle; containerd handed the same to the containers.
    const socket = readFileSync(path.join(sandboxBundle(pod), 'address'), 'utf8').trim().replace(/^unix:\/\//, '');
    expect(ctd.shimSocket(sleeper, CRI_NAMESPACE)).toBe(socket);
    expect((await ctd.tasks(CRI_NAMESPACE)).find((t) => t.id === sleeper)).toMatchObject({ pid: qemu?.pid, status: 'RUNNING' });

    // Tear down as the kubelet does; deleting the containers leaves the pod ready until it is stopped.
    await cri.stopContainer(sleeper, 2);
    for (const id of [sleeper, exiter]) await cri.removeContainer(id);
    expect((await podStatus(pod)).state).toBe(v1.PodSandboxState.SANDBOX_READY);
    await cri.stopPodSandbox(pod);
    expect((await podStatus(pod)).state).toBe(v1.PodSandboxState.SANDBOX_NOTREADY);
    await cri.removePodSandbox(pod);
    pods.splice(pods.indexOf(pod), 1);
    expect(await cri.listPodSandbox()).toEqual([]);
    const tGone = Date.now();

    const { left, procs: procsLeft } = await settled(pod, [socket]);
    expect(procsLeft).toEqual([]);
    expect(left).toEqual(NO_LEFTOVERS);
    expect(existsSync(sandboxBundle(pod))).toBe(false);
    process.stderr.write(`kata-sandbox-api timings: RunPodSandbox ${tPod - t0} ms, 2 containers created+started ${tStarted - tPod} ms, ` +
      `checks+teardown ${tGone - tStarted} ms, cleanup settled ${Date.now() - tGone} ms\n`);
  }, TEST_TIMEOUT_MS);

  it('wires the netns CreateSandbox names into the guest (pod IP on eth0) and takes its tap along', async () => {
    const t0 = Date.now();
    const podConfig: pb.runtime.v1.PodSandboxConfig.$Properties = {
      metadata: { name: 'kata-sandbox-api-net', namespace: 'default', uid: `kata-sbx-net-${process.pid}`, attempt: 0 },
      hostname: 'kata-sbx-net',
      logDirectory: tmp,
      linux: { securityContext: ownPid },
    };
    const pod = await cri.runPodSandbox(podConfig, HANDLER);
    pods.push(pod);
    const tPod = Date.now();
    const status = await podStatus(pod);
    expect(status.ip).toMatch(/^10\.88\.78\.\d+$/);
    expect(status.shim.netns).toMatch(/^\/var\/run\/netns\/cni-/);

    // A container that wants the pod's PID namespace is refused clearly: no pause container holds one.
    const sharer = await cri.createContainer(pod, containerConfig('sharer', ['sleep', '600'], { namespaceOptions: { pid: v1.NamespaceMode.POD } }), podConfig);
    await expect(cri.startContainer(sharer)).rejects.toThrow(/share the pod's PID namespace/);
    await cri.removeContainer(sharer);

    const ctr = await cri.createContainer(pod, containerConfig('net', ['sleep', '600'], ownPid), podConfig);
    await cri.startContainer(ctr);
    const addr = await cri.execSync(ctr, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(addr.stdout).toContain(`inet ${status.ip}/24`);
    expect((await cri.execSync(ctr, ['ip', 'route'])).stdout).toMatch(new RegExp(`default via ${GATEWAY.replace(/\./g, '\\.')} dev eth0`));

    // Keep the pod netns past CRI's teardown: what is left in it afterwards is what the shim left.
    const hold = path.join(tmp, 'hold-netns');
    writeFileSync(hold, '');
    await runOk('mount', ['--bind', status.shim.netns ?? '', hold]);
    holds.push(hold);

    await cri.stopContainer(ctr, 1);
    await cri.removeContainer(ctr);
    await cri.stopPodSandbox(pod);
    await cri.removePodSandbox(pod);
    pods.splice(pods.indexOf(pod), 1);
    const { left, procs } = await settled(pod);
    expect(procs).toEqual([]);
    expect(left).toEqual(NO_LEFTOVERS);
    const links = JSON.parse((await inNetns(hold, ['ip', '-json', 'link', 'show'])).stdout || '[]') as Array<{ ifname: string }>;
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    process.stderr.write(`kata-sandbox-api net timings: RunPodSandbox ${tPod - t0} ms, rest ${Date.now() - tPod} ms\n`);
  }, TEST_TIMEOUT_MS);
}, missing);
