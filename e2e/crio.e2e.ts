/**
 * First light of kata-ts under a real CRI-O (v1.34, built by scripts/install-peers.sh), driven by
 * crictl as an operator would: a private CRI-O (e2e/harness/crio.ts) in a test-owned netns with a CNI
 * bridge, the handler `kata` → runtime_type "vm" (CRI-O runs containerd-shim-kata-v2 itself and talks
 * task API v2 to it over ttrpc; no conmon), and its default handler runc through conmon.
 *
 *   - a kata pod on the pod network: a busybox container in it runs on the guest kernel, writes its log
 *     through CRI-O's fifos, holds the pod IP CNI gave the veth, answers ping from the netns; ExecSync
 *     returns exit status and split output; ReopenContainerLog works (CRI-O first sends the shim Kill with
 *     signal 0); the pod is one shim and one QEMU; a container created and never started stops and goes;
 *     stop/rm leave no shim, QEMU, kata state or shim socket;
 *   - a runc pod beside it (the host kernel);
 *   - CRI-O stopped, nothing of it is left on the host.
 *
 * Pods use pid namespace CONTAINER, the kubelet's default: a runc pod with a POD pid namespace needs an
 * infra container whose oom_score_adj -998 this sandbox refuses (see e2e/harness/crio.ts).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CriClient, CrioDaemon, NO_LEFTOVERS, builtPeers, crioSkipReason, describeKata, ensureTestImage, findLeftovers, readGuestManifest, startCrio, waitUntil,
  type GuestManifest,
} from './harness';
import { Crictl } from './harness/crictl';
import { listProcesses } from './harness/procfs';
import { TestNetns } from './harness/test-netns';

const SUBNET = '10.88.71.0/24';
const POD_TIMEOUT_MS = 300_000;
/** crictl's pid-namespace mode CONTAINER (POD = 0, NODE = 2). */
const PID_CONTAINER = 1;

interface PodStatus {
  id: string;
  state: string;
  runtimeHandler: string;
  network?: { ip?: string };
}

describeKata(`CRI-O ${builtPeers().crio?.version ?? ''} runs kata-ts pods (runtime_type "vm") through crictl`, () => {
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  let netns: TestNetns | undefined;
  let tmp: string;
  let crio: CrioDaemon | undefined;
  let crictl: Crictl;
  let manifest: GuestManifest;
  let image: string;
  /** Every pod id the suite made. */
  const pods: string[] = [];

  const podConfig = (name: string) => ({
    metadata: { name, namespace: 'default', uid: `${name}-${suffix}`, attempt: 0 },
    hostname: name,
    log_directory: path.join(tmp, 'logs', name),
    linux: { security_context: { namespace_options: { pid: PID_CONTAINER } } },
  });
  const containerConfig = (name: string, command: string[]) => ({
    metadata: { name },
    image: { image },
    command,
    log_path: `${name}.log`,
    linux: { security_context: { namespace_options: { pid: PID_CONTAINER } } },
  });

  /** The pod's shim (`-id <pod or container id>`) and QEMU (`sandbox-<pod id>`) processes. */
  const kataProcesses = async (podId: string, ids: readonly string[]) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.endsWith('containerd-shim-kata-v2')) && ids.some((id) => p.argv.includes(id))) ||
      p.argv.includes(`sandbox-${podId}`)
    ));

  const podStatus = async (pod: string) => (await crictl.json<{ status: PodStatus }>(['inspectp', pod])).status;
  const execSync = async (ctr: string, argv: string[]) => (await crictl.ok(['exec', '--sync', ctr, ...argv])).trim();

  beforeAll(async () => {
    manifest = readGuestManifest();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-crio-e2e-'));
    netns = await TestNetns.create('kts-crio');
    crio = await startCrio({
      netnsPath: netns.path,
      network: { name: 'kata-ts-crio', bridge: 'ktscrio0', subnet: SUBNET, ipamDir: path.join(tmp, 'ipam') },
    });
    const busybox = await ensureTestImage();
    image = busybox.ref;
    await crio.importImage(busybox.tarPath, busybox.ref);
    crictl = new Crictl(crio.endpoint, netns.path);
  }, 180_000);

  afterAll(async () => {
    crictl?.close();
    if (crio && process.env.KATA_TS_E2E_KEEP_LOG) copyFileSync(crio.layout.logFile, process.env.KATA_TS_E2E_KEEP_LOG);
    await crio?.stop();
    await netns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (crio) {
      expect(await findLeftovers(crio.footprint())).toEqual(NO_LEFTOVERS);
      const procs = (await Promise.all(pods.map((pod) => kataProcesses(pod, [pod])))).flat();
      expect(procs.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`)).toEqual([]);
    }
  }, 360_000);

  it('answers as CRI-O, with the kata and runc handlers and the imported images', async () => {
    const version = await crictl.ok(['version']);
    expect(version).toMatch(/RuntimeName:\s+cri-o/);
    expect(version).toContain(`RuntimeVersion:  ${builtPeers().crio?.version.replace(/^v/, '')}`);
    const info = await crictl.json<{ runtimeHandlers: { name?: string }[] }>(['info']);
    expect(info.runtimeHandlers.map((h) => h.name)).toEqual(expect.arrayContaining(['kata', 'runc']));
    const images = await crictl.json<{ images: { repoTags: string[] }[] }>(['images']);
    expect(images.images.flatMap((i) => i.repoTags)).toEqual(expect.arrayContaining([image, 'registry.k8s.io/pause:kata-ts']));
  });

  it('runs a kata pod on the guest kernel, on the pod network, in one shim and one QEMU, and cleans up', async () => {
    const t0 = Date.now();
    const pod = await crictl.runp(podConfig('crio-kata'), crio!.kataHandler);
    pods.push(pod);
    const tPod = Date.now();
    const ctr = await crictl.createAndStart(pod, containerConfig('sleeper', ['sh', '-c', 'echo hello from kata; exec sleep 3600']), podConfig('crio-kata'));
    const tCtr = Date.now();

    const status = await podStatus(pod);
    expect(status.state).toBe('SANDBOX_READY'); // CRI-O 1.34 leaves status.runtimeHandler empty
    const podIp = status.network?.ip ?? '';
    expect(podIp).toMatch(/^10\.88\.71\.\d+$/);

    // The guest's kernel, not the host's; the pod's hostname; the veth's address moved into the guest.
    expect(await execSync(ctr, ['uname', '-r'])).toBe(manifest.kernel.version);
    expect(manifest.kernel.version).not.toBe(os.release());
    expect(await execSync(ctr, ['hostname'])).toBe('crio-kata');
    expect(await execSync(ctr, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).toContain(`inet ${podIp}/24`);
    // From the netns (CRI-O's side of the bridge) to the guest: busybox-static's ping (no iputils here).
    const ping = await netns!.exec(['busybox', 'ping', '-c', '1', '-W', '20', podIp], 30_000);
    expect({ code: ping.code, out: ping.stdout, err: ping.stderr }).toMatchObject({ code: 0, out: expect.stringContaining('1 packets received') });
    // Its stdout reached CRI-O's log file through the shim.
    expect(await crictl.ok(['logs', ctr])).toBe('hello from kata\n');
    expect(readFileSync(path.join(tmp, 'logs', 'crio-kata', 'sleeper.log'), 'utf8')).toMatch(/ stdout F hello from kata\n$/);
    // ReopenContainerLog (the kubelet's log rotation) first asks the shim whether the container lives: Kill with signal 0.
    expect(await crictl.ok(['logs', '--reopen', '--tail', '1', ctr])).toBe('hello from kata\n');

    // ExecSync's exit status and split output, over CRI-O's gRPC (crictl 1.37 turns any non-zero exec status into 1).
    const cri = new CriClient(crio!.layout.socket);
    try {
      expect(await cri.execSync(ctr, ['sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    } finally {
      cri.close();
    }

    const procs = await kataProcesses(pod, [pod, ctr]);
    expect(procs.filter((p) => p.argv.some((a) => a.endsWith('containerd-shim-kata-v2')))).toHaveLength(1);
    expect(procs.filter((p) => p.argv.includes(`sandbox-${pod}`))).toHaveLength(1);
    expect(await crictl.json<{ containers: unknown[] }>(['ps', '--pod', pod])).toMatchObject({ containers: [expect.anything()] });

    // A container created and never started: CRI-O's stop kills it and waits for its exit, then removes it.
    const idle = await crictl.create(pod, containerConfig('idle', ['sleep', '3600']), podConfig('crio-kata'));
    expect((await crictl.json<{ status: { state: string } }>(['inspect', idle])).status.state).toBe('CONTAINER_CREATED');
    await crictl.ok(['stop', '--timeout', '2', idle], { timeoutMs: 60_000 });
    expect((await crictl.json<{ status: { state: string } }>(['inspect', idle])).status.state).toBe('CONTAINER_EXITED');
    await crictl.ok(['rm', idle]);

    await crictl.ok(['stop', '--timeout', '2', ctr]);
    await crictl.ok(['rm', ctr]);
    await crictl.ok(['stopp', pod]);
    await crictl.ok(['rmp', pod]);
    expect(await crictl.json<{ items: unknown[] }>(['pods'])).toEqual({ items: [] });
    const tGone = Date.now();

    const footprint = { paths: [path.join('/run/kata-ts/sbs', pod), CrioDaemon.shimSocket(pod)] };
    let left = await findLeftovers(footprint);
    let procsLeft = await kataProcesses(pod, [pod, ctr]);
    await waitUntil(async () => {
      left = await findLeftovers(footprint);
      procsLeft = await kataProcesses(pod, [pod, ctr]);
      return procsLeft.length === 0 && JSON.stringify(left) === JSON.stringify(NO_LEFTOVERS);
    }, 30_000, 200);
    expect(procsLeft.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`)).toEqual([]);
    expect(left).toEqual(NO_LEFTOVERS);
    process.stderr.write(`crio kata timings: runp ${tPod - t0} ms, create+start ${tCtr - tPod} ms, ` +
      `checks+stop+rm ${tGone - tCtr} ms, settled ${Date.now() - tGone} ms\n`);
  }, POD_TIMEOUT_MS);

  it('runs a runc pod (the default handler) on the host kernel', async () => {
    const t0 = Date.now();
    // No --runtime: CRI-O's default_runtime, runc through conmon.
    const pod = (await crictl.ok(['runp', crictl.writeConfig(podConfig('crio-runc'))])).trim();
    pods.push(pod);
    const ctr = await crictl.createAndStart(pod, containerConfig('sleeper', ['sleep', '3600']), podConfig('crio-runc'));
    expect(await podStatus(pod)).toMatchObject({ state: 'SANDBOX_READY' });
    expect(await kataProcesses(pod, [pod, ctr])).toEqual([]);
    expect(await execSync(ctr, ['uname', '-r'])).toBe(os.release());
    // sleep as pid 1 ignores SIGTERM: stop with a short grace, as for the kata pod.
    await crictl.ok(['stop', '--timeout', '2', ctr]);
    await crictl.ok(['rmp', '--force', pod]);
    expect((await crictl.json<{ items: { id: string }[] }>(['pods'])).items.map((p) => p.id)).not.toContain(pod);
    process.stderr.write(`crio runc pod: ${Date.now() - t0} ms\n`);
  }, POD_TIMEOUT_MS);
}, crioSkipReason());
