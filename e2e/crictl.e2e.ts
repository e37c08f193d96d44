/**
 * kata-ts driven by crictl, as an operator drives a node, against every CRI daemon we support (one
 * scenario, one CriDaemon driver each): containerd 2.x's CRI plugin and the real CRI-O (runtime_type vm). Each daemon runs
 * inside a test-owned network namespace with a CNI bridge, so pod IPs and every packet stay there.
 *
 * One pod, RuntimeClass handler `kata`, two containers (an httpd and a sleeper) in one VM: runp, create,
 * start, exec -s, exec -it, logs, stats, inspect/inspectp, the pod IP reached from the test netns,
 * port-forward (see the README: a VM runtime cannot serve it the way the daemons implement it), stop,
 * rm, stopp, rmp; then no shim, QEMU, mount or socket of the pod is left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  KATA_STATE_DIR, NO_LEFTOVERS, availableContainerds, describeKata, ensureTestImage, findLeftovers, hostTestsRequired, readGuestManifest, run,
  waitUntil, type CommandResult, type CriDaemon,
} from './harness';
import { startContainerdCri } from './harness/containerd-cri-daemon';
import { Crictl, crictlPath } from './harness/crictl';
import { crioSkipReason, startCrio } from './harness/crio';
import { listProcesses } from './harness/procfs';
import { TestNetns, type BridgeNetwork } from './harness/test-netns';

const TEST_TIMEOUT_MS = 300_000;
const PAGE = 'served from a kata-ts pod';

/** A daemon this scenario can run against: how to start it in a netns with a bridge network. */
interface DaemonDriver {
  name: string;
  start(netnsPath: string, network: BridgeNetwork): Promise<CriDaemon>;
}

function daemonDrivers(): [string, DaemonDriver][] {
  const drivers: [string, DaemonDriver][] = [];
  const containerd2 = availableContainerds().flavours.find((f) => f.label === '2.x');
  if (containerd2) drivers.push([`containerd ${containerd2.label}`, { name: 'containerd', start: (netnsPath, network) => startContainerdCri({ flavour: containerd2, netnsPath, network }) }]);
  else if (hostTestsRequired()) throw new Error('crictl scenario: containerd 2.x was not built (scripts/install-peers.sh containerd2)');
  const crioMissing = crioSkipReason();
  if (!crioMissing) drivers.push(['CRI-O', { name: 'crio', start: (netnsPath, network) => startCrio({ netnsPath, network }) }]);
  else if (hostTestsRequired()) throw new Error(`crictl scenario: ${crioMissing}`);
  return drivers;
}

/** Asserts a command's exit code (and stdout), showing stderr when it differs. */
function expectExit(r: CommandResult, code: number, stdout?: string | RegExp): void {
  const outOk = stdout === undefined || (typeof stdout === 'string' ? r.stdout === stdout : stdout.test(r.stdout));
  if (r.code === code && outOk) return;
  throw new Error(`expected exit ${code}${stdout === undefined ? '' : ` and stdout ${String(stdout)}`}, got exit ${r.code}` +
    `${r.timedOut ? ' (timed out)' : ''}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
}

const missing = crictlPath() ? undefined : 'crictl was not built (scripts/install-peers.sh cri-tools)';

describeKata('kata-ts through crictl', () => describe.each(daemonDrivers())('%s', (_name, driver) => {
  let netns: TestNetns | undefined;
  let daemon: CriDaemon | undefined;
  let crictl: Crictl;
  let tmp: string;
  let busybox: string;
  let podId: string | undefined;

  const kataProcesses = async (pod: string) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(pod)) || p.argv.includes(`sandbox-${pod}`)));

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-crictl-'));
    netns = await TestNetns.create('katats-crictl');
    daemon = await driver.start(netns.path, { name: 'kata-ts-crictl', bridge: 'katats1', subnet: '10.88.79.0/24', ipamDir: path.join(tmp, 'ipam') });
    const image = await ensureTestImage();
    busybox = image.ref;
    await daemon.importImage(image.tarPath, image.ref);
    crictl = new Crictl(daemon.endpoint, netns.path);
  }, 180_000);

  afterAll(async () => {
    if (podId && crictl) {
      await crictl.run(['stopp', podId]);
      await crictl.run(['rmp', '-f', podId]);
    }
    crictl?.close();
    const footprint = daemon?.footprint();
    await daemon?.stop();
    await netns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (footprint) expect(await findLeftovers(footprint)).toEqual(NO_LEFTOVERS);
  }, 180_000);

  it('runs a two-container pod in one VM: exec, tty, logs, stats, inspect, pod IP, port-forward, teardown', async () => {
    const podConfig = {
      metadata: { name: 'crictl-pod', namespace: 'default', uid: `crictl-pod-${process.pid}`, attempt: 0 },
      hostname: 'crictl-pod',
      log_directory: tmp,
      linux: {},
    };
    const container = (name: string, command: string[]) => ({ metadata: { name, attempt: 0 }, image: { image: busybox }, command, log_path: `${name}.log`, linux: {} });
    podId = await crictl.runp(podConfig, daemon!.kataHandler);
    const web = await crictl.createAndStart(podId, container('web', ['sh', '-c', `mkdir -p /www && echo '${PAGE}' > /www/index.html && echo web up && exec httpd -f -p 80 -h /www`]), podConfig);
    const sleeper = await crictl.createAndStart(podId, container('sleeper', ['sh', '-c', 'echo sleeper up; echo to stderr >&2; exec sleep 600']), podConfig);

    // One shim and one QEMU for the pod, whatever the daemon.
    const procs = await kataProcesses(podId);
    expect(procs.filter((p) => p.argv.includes(`sandbox-${podId}`))).toHaveLength(1);
    expect(procs.filter((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')))).toHaveLength(1);

    // exec -s (ExecSync): the guest kernel, exit codes and both streams.
    const manifest = readGuestManifest();
    expectExit(await crictl.run(['exec', '-s', sleeper, 'uname', '-r']), 0, Crictl.execSyncOutput(`${manifest.kernel.version}\n`));
    expect(manifest.kernel.version).not.toBe(os.release());
    const failing = await crictl.run(['exec', '-s', sleeper, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    // crictl reports a non-zero ExecSync exit as its own error (exit 1), naming the code and stderr.
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('exited with 3: err');

    // exec -it (streaming, through the daemon's stream server) under a pseudo-terminal.
    const quoted = crictl.argv(['exec', '-it', sleeper, 'sh']).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const tty = await run('script', ['-qec', quoted, '/dev/null'], { timeoutMs: 120_000, input: 'echo tty-$((6*7)); [ -t 0 ] && echo is-a-tty; exit 5\n' });
    expect(tty.stdout).toContain('tty-42');
    expect(tty.stdout).toContain('is-a-tty');
    // crictl ends with its own exit 1 and names the process's code, which the stream's status carried.
    expect(tty.code).toBe(1);
    expect(tty.stdout + tty.stderr).toMatch(/exit code 5\b/);
    // exec -i without a tty: stdin reaches the process, the exit code comes back.
    const piped = await crictl.run(['exec', '-i', sleeper, 'sh', '-c', 'read line; echo got $line; exit 4'], { input: 'hello\n' });
    expect(piped.stdout).toBe('got hello\n');
    expect(piped.code).toBe(1);
    expect(piped.stderr).toMatch(/exit code 4\b/);

    // logs: both streams of the container, as the daemon wrote them.
    await waitUntil(async () => (await crictl.run(['logs', sleeper])).stdout.includes('sleeper up'), 30_000, 500);
    const logs = await crictl.run(['logs', sleeper]);
    expectExit(logs, 0, 'sleeper up\n');
    expect(logs.stderr).toContain('to stderr');
    expect((await crictl.run(['logs', web])).stdout).toBe('web up\n');

    // inspect / inspectp: states, the pod's IP in our bridge's subnet.
    const inspected = await crictl.json<{ status: { state: string; id: string } }>(['inspect', sleeper]);
    expect(inspected.status).toMatchObject({ id: sleeper, state: 'CONTAINER_RUNNING' });
    const pod = await crictl.json<{ status: { state: string; network: { ip: string } } }>(['inspectp', podId]);
    expect(pod.status.state).toBe('SANDBOX_READY');
    const podIp = pod.status.network.ip;
    expect(podIp).toMatch(/^10\.88\.79\.\d+$/);

    // stats: the container's memory and CPU from the guest's cgroups.
    let stats: { stats: Array<{ attributes: { id: string }; memory?: { workingSetBytes?: { value: string } }; cpu?: { usageCoreNanoSeconds?: { value: string } } }> } = { stats: [] };
    await waitUntil(async () => {
      stats = await crictl.json(['stats', '--id', sleeper]);
      return Number(stats.stats[0]?.memory?.workingSetBytes?.value ?? 0) > 0;
    }, 30_000, 1_000);
    expect(stats.stats[0]?.attributes.id).toBe(sleeper);
    expect(Number(stats.stats[0]?.memory?.workingSetBytes?.value)).toBeGreaterThan(0);
    expect(Number(stats.stats[0]?.cpu?.usageCoreNanoSeconds?.value)).toBeGreaterThan(0);

    // The pod IP from the test netns (CNI's bridge is there): the page httpd serves in the VM.
    let fetched: CommandResult | undefined;
    // (busybox 1.35's wget -T segfaults; timeout(1) bounds it instead)
    await waitUntil(async () => (fetched = await netns!.exec(['timeout', '5', 'busybox', 'wget', '-q', '-O', '-', `http://${podIp}/`], 20_000)).code === 0, 60_000, 1_000);
    expectExit(fetched!, 0, `${PAGE}\n`);

    // port-forward: both daemons dial localhost:<port> inside the pod's netns on the host, where a VM
    // pod has nothing listening (its network stack is the guest's). It must fail cleanly, not hang.
    const forward = await run('nsenter', [`--net=${netns!.path}`, '--', 'sh', '-c',
      `${crictl.argv(['port-forward', podId, '18080:80']).join(' ')} & pf=$!; sleep 3; timeout 5 busybox wget -q -O - http://127.0.0.1:18080/; rc=$?; kill $pf; wait $pf; exit $rc`], { timeoutMs: 60_000 });
    expect(forward.code).not.toBe(0);
    expect(forward.stdout).not.toContain(PAGE);

    // Tear down as the kubelet does.
    await crictl.ok(['stop', '-t', '2', sleeper, web]);
    expect((await crictl.json<{ status: { state: string; exitCode: number } }>(['inspect', sleeper])).status.state).toBe('CONTAINER_EXITED');
    await crictl.ok(['rm', sleeper, web]);
    await crictl.ok(['stopp', podId]);
    await crictl.ok(['rmp', podId]);
    const pods = await crictl.json<{ items: unknown[] }>(['pods']);
    expect(pods.items).toEqual([]);
    const gone = podId;
    podId = undefined;
    let left = await kataProcesses(gone);
    await waitUntil(async () => (left = await kataProcesses(gone)).length === 0, 30_000, 200);
    expect(left.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`)).toEqual([]);
    expect(await findLeftovers({ paths: [path.join(KATA_STATE_DIR, 'sbs', gone)] })).toEqual(NO_LEFTOVERS);
  }, TEST_TIMEOUT_MS);
}), missing);
