/**
 * kata-ts end to end on the Kubernetes path: a private containerd 1.6 with its CRI plugin, driven over
 * its gRPC socket as the kubelet would (runtime.v1 RuntimeService), with the RuntimeClass handler
 * `kata` → runtime_type io.containerd.kata.v2. One host-network pod (no CNI) with two busybox
 * containers: they must share one shim and one QEMU, run on the guest kernel, and leave nothing
 * behind once the pod is stopped and removed.
 *
 * Uses the installed shim, configuration and guest image (scripts/install.sh); the pause image and the
 * busybox image are built locally and imported into the k8s.io namespace (no pulls).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pb } from '@kata-ts/protocol/cri';
import {
  CRI_NAMESPACE, CriClient, INSTALLED_CONFIGS, KATA_STATE_DIR, NO_LEFTOVERS, PrivateContainerd, containerdMatrix, describeKata, ensurePauseImage,
  ensureTestImage, findLeftovers, readGuestManifest, waitUntil, type GuestManifest,
} from './harness';
import { listProcesses } from './harness/procfs';

const v1 = pb.runtime.v1;
const HANDLER = 'kata';
const RUNTIME = 'io.containerd.kata.v2';
const POD_HOSTNAME = 'kata-cri-pod';
const TEST_TIMEOUT_MS = 150_000;


describeKata('kata-ts through the CRI (RuntimeClass handler kata)', () => describe.each(containerdMatrix())('%s', (_label, flavour) => {
  let ctd: PrivateContainerd;
  let cri: CriClient;
  let manifest: GuestManifest;
  let logDir: string;
  let busybox: string;
  /** The pod of the lifecycle test, while it exists (afterAll removes it if the test failed midway). */
  let podId: string | undefined;
  /** Every pod and container id the suite made, for the leftover check. */
  const ids: string[] = [];

  const hostNetwork = { namespaceOptions: { network: v1.NamespaceMode.NODE, pid: v1.NamespaceMode.CONTAINER, ipc: v1.NamespaceMode.POD } };
  const podConfig = (): pb.runtime.v1.PodSandboxConfig.$Properties => ({
    metadata: { name: 'kata-cri', namespace: 'default', uid: `kata-cri-${process.pid}`, attempt: 0 },
    hostname: POD_HOSTNAME,
    logDirectory: logDir,
    linux: { securityContext: hostNetwork },
  });
  const containerConfig = (name: string, command: string[], memoryLimitMiB = 0): pb.runtime.v1.ContainerConfig.$Properties => ({
    metadata: { name, attempt: 0 },
    image: { image: busybox },
    command,
    logPath: `${name}.log`,
    linux: { securityContext: hostNetwork, ...(memoryLimitMiB ? { resources: { memoryLimitInBytes: memoryLimitMiB * 1048576 } } : {}) },
  });

  /** Shims and QEMUs of a pod: the shim by our containerd's address and the pod id, QEMU by its sandbox name. */
  const kataProcesses = async (sandboxId: string) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(ctd.layout.address) && p.argv.includes(sandboxId)) ||
      p.argv.includes(`sandbox-${sandboxId}`)
    ));

  beforeAll(async () => {
    manifest = readGuestManifest();
    logDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-cri-logs-'));
    const [pause, image] = await Promise.all([ensurePauseImage(), ensureTestImage()]);
    busybox = image.ref;
    ctd = await PrivateContainerd.start({
      flavour,
      namespace: CRI_NAMESPACE,
      cri: { sandboxImage: pause.ref, runtimes: { [HANDLER]: { runtimeType: RUNTIME } } },
    });
    await ctd.importImage(pause.tarPath);
    await ctd.importImage(image.tarPath);
    cri = new CriClient(ctd.layout.address);
    await cri.waitReady();
  }, 120_000);

  afterAll(async () => {
    if (podId && cri) {
      await cri.stopPodSandbox(podId).catch(() => undefined);
      await cri.removePodSandbox(podId).catch(() => undefined);
    }
    cri?.close();
    if (ctd && process.env.KATA_TS_E2E_KEEP_LOG) writeFileSync(process.env.KATA_TS_E2E_KEEP_LOG, readFileSync(ctd.layout.logFile));
    await ctd?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
    if (ctd) expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
  }, 120_000);

  it('answers Version as containerd', async () => {
    const version = await cri.version();
    expect(version.runtimeName).toBe('containerd');
    expect(version.runtimeApiVersion).toBe('v1');
  });

  it('runs a two-container pod in one VM and cleans up after StopPodSandbox/RemovePodSandbox', async () => {
    const t0 = Date.now();
    const sandboxConfig = podConfig();
    const pod = await cri.runPodSandbox(sandboxConfig, HANDLER);
    podId = pod;
    ids.push(pod);
    const tPod = Date.now();

    // No pod-level resources, so no CRI version sends sandbox sizing: the VM boots at default_memory and grows by the limit.
    const sleeper = await cri.createContainer(pod, containerConfig('sleeper', ['sleep', '600'], 256), sandboxConfig);
    ids.push(sleeper);
    await cri.startContainer(sleeper);
    const exiter = await cri.createContainer(pod, containerConfig('exiter', ['sh', '-c', 'echo hello from exiter; exit 3']), sandboxConfig);
    ids.push(exiter);
    await cri.startContainer(exiter);
    const tStarted = Date.now();

    // The exiting container: its exit code and output, as the kubelet reads them.
    let status = await cri.containerStatus(exiter);
    await waitUntil(async () => (status = await cri.containerStatus(exiter)).state === v1.ContainerState.CONTAINER_EXITED, 30_000, 200);
    expect(status).toMatchObject({ state: v1.ContainerState.CONTAINER_EXITED, exitCode: 3 });
    expect(readFileSync(path.join(logDir, 'exiter.log'), 'utf8')).toMatch(/ stdout F hello from exiter\n$/);
    expect((await cri.containerStatus(sleeper)).state).toBe(v1.ContainerState.CONTAINER_RUNNING);

    // ExecSync in the running container: the guest kernel, not the host's.
    const uname = await cri.execSync(sleeper, ['uname', '-r']);
    expect(uname).toMatchObject({ exitCode: 0, stdout: `${manifest.kernel.version}\n` });
    expect(manifest.kernel.version).not.toBe(os.release());
    const exit = await cri.execSync(sleeper, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(exit).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    const hostname = await cri.execSync(sleeper, ['hostname']);
    expect(hostname).toMatchObject({ exitCode: 0, stdout: `${POD_HOSTNAME}\n` });
    // The sleeper's 256 MiB were hot-plugged: the guest now sees more than the VM booted with
    // (a VM of default_memory MiB shows less than that, the kernel keeps some).
    const bootMiB = Number(/^default_memory = (\d+)/m.exec(readFileSync(INSTALLED_CONFIGS[INSTALLED_CONFIGS.length - 1]!, 'utf8'))?.[1]);
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB/m.exec((await cri.execSync(sleeper, ['cat', '/proc/meminfo'])).stdout)?.[1]);
    expect(bootMiB).toBeGreaterThan(0);
    expect(memTotalKiB).toBeGreaterThan(bootMiB * 1024);

    // One shim and one QEMU for the whole pod.
    const procs = await kataProcesses(pod);
    const shims = procs.filter((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')));
    const qemus = procs.filter((p) => p.argv.includes(`sandbox-${pod}`));
    expect(shims).toHaveLength(1);
    expect(qemus).toHaveLength(1);
    // The exited container's task is already deleted (CRI does on exit), so only two bundles remain.
    const bundles = readdirSync(path.join(ctd.layout.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE)).sort();
    expect(bundles).toEqual([pod, sleeper].sort());
    const socket = ctd.shimSocket(pod, CRI_NAMESPACE);
    expect(ctd.shimSocket(sleeper, CRI_NAMESPACE)).toBe(socket);
    const tasks = await ctd.tasks(CRI_NAMESPACE);
    for (const id of [pod, sleeper]) expect(tasks.find((t) => t.id === id)).toMatchObject({ pid: qemus[0]?.pid, status: 'RUNNING' });

    // ListContainers sees both, in this pod.
    const listed = await cri.listContainers({ podSandboxId: pod });
    expect(listed.map((c) => [c.metadata?.name, c.state]).sort()).toEqual([
      ['exiter', v1.ContainerState.CONTAINER_EXITED],
      ['sleeper', v1.ContainerState.CONTAINER_RUNNING],
    ]);

    // Tear down as the kubelet does.
    await cri.stopContainer(sleeper, 2);
    expect((await cri.containerStatus(sleeper)).state).toBe(v1.ContainerState.CONTAINER_EXITED);
    for (const id of [sleeper, exiter]) await cri.removeContainer(id);
    expect(await cri.listContainers({ podSandboxId: pod })).toEqual([]);
    await cri.stopPodSandbox(pod);
    await cri.removePodSandbox(pod);
    podId = undefined;
    expect(await cri.listPodSandbox()).toEqual([]);
    const tGone = Date.now();

    const footprint = { paths: [...ids.map((id) => path.join(KATA_STATE_DIR, 'sbs', id)), socket, ctd.shimSocketFor(pod, CRI_NAMESPACE)] };
    let left = await findLeftovers(footprint);
    let procsLeft = await kataProcesses(pod);
    await waitUntil(async () => {
      left = await findLeftovers(footprint);
      procsLeft = await kataProcesses(pod);
      return procsLeft.length === 0 && JSON.stringify(left) === JSON.stringify(NO_LEFTOVERS);
    }, 20_000, 200);
    expect(procsLeft.map((p) => `${p.pid} ${p.argv.slice(0, 4).join(' ')}`)).toEqual([]);
    expect(left).toEqual(NO_LEFTOVERS);
    expect(existsSync(ctd.bundleDir(pod))).toBe(false);
    process.stderr.write(`kata-cri timings: RunPodSandbox ${tPod - t0} ms, 2 containers created+started ${tStarted - tPod} ms, ` +
      `checks+teardown ${tGone - tStarted} ms, cleanup settled ${Date.now() - tGone} ms\n`);
  }, TEST_TIMEOUT_MS);
}));
