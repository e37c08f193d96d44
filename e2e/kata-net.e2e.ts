/**
 * Pod networking end to end, Kata's tcfilter model: containerd's CRI plugin with a CNI bridge network,
 * RuntimeClass handler kata, pods WITHOUT host networking. Two pods (two VMs): each guest sees eth0 with
 * the pod IP CRI reports and the veth's MAC and MTU, and a default route (checked for both, the
 * hot-plugged NIC of pod B as well as the cold-plugged one of A); pod A fetches a file from an httpd in
 * pod B; the test netns reaches pod B. Pod A boots cold (handler kata-cold: enable_template = false), so
 * its NIC is on QEMU's command line; pod B is a VM template clone whose NIC is hot-plugged over QMP. After StopPodSandbox/RemovePodSandbox: no tap, no tc filter, no
 * QEMU or shim.
 *
 * Network rules of this machine: traffic only to loopback or to namespaces the test creates. The private
 * containerd runs inside a test-owned netns (`katats-net-<hex>`, no route out), so the bridge plugin's
 * bridge and veth host ends live there, and every packet of the test stays between that netns and the
 * pods' netns. The netns is deleted at the end, even on failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pb } from '@kata-ts/protocol/cri';
import {
  CRI_NAMESPACE, CriClient, KATA_STATE_DIR, NO_LEFTOVERS, PrivateContainerd, describeKata, ensurePauseImage, ensureTestImage, findLeftovers,
  installedConfigWith, run, runOk, waitUntil,
} from './harness';
import { listProcesses } from './harness/procfs';

const HANDLER = 'kata';
/** The same runtime with VM templates off (its configuration through the handler's ConfigPath option). */
const COLD_HANDLER = 'kata-cold';
const RUNTIME = 'io.containerd.kata.v2';
const SUBNET = '10.88.77.0/24';
const GATEWAY = '10.88.77.1';
const PAGE = 'hello from pod b over kata-ts tcfilter';
const TEST_TIMEOUT_MS = 240_000;
const CNI_BIN = '/usr/lib/cni';


/** The CNI network: a bridge in the test netns, host-local addresses from SUBNET, a default route via the bridge. */
function conflist(ipamDir: string): object {
  return {
    cniVersion: '0.4.0',
    name: 'kata-ts-net',
    plugins: [{
      type: 'bridge', bridge: 'katats0', isGateway: true, ipMasq: false, hairpinMode: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
    }],
  };
}

/** Runs a command in a network namespace given by path (nsenter: no mount namespace games). */
const inNetns = (nsPath: string, argv: string[], timeoutMs = 15_000) => run('nsenter', [`--net=${nsPath}`, '--', ...argv], { timeoutMs });

interface IpLink { ifname: string; address: string; mtu: number; linkinfo?: { info_kind?: string } }
const links = async (nsPath: string): Promise<IpLink[]> => JSON.parse((await inNetns(nsPath, ['ip', '-json', '-details', 'link', 'show'])).stdout || '[]') as IpLink[];

describeKata('kata-ts pod networking through the CRI (tcfilter)', () => {
  const netnsName = `katats-net-${randomBytes(4).toString('hex')}`;
  const netnsPath = `/var/run/netns/${netnsName}`;
  let netnsCreated = false;
  let ctd: PrivateContainerd | undefined;
  let cri: CriClient;
  let busybox: string;
  let tmp: string;
  /** Bind mounts that keep each pod's netns alive after CRI drops it, to prove the shim removed its taps. */
  const holds: string[] = [];
  const pods: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-net-'));
    await runOk('ip', ['netns', 'add', netnsName]);
    netnsCreated = true;
    await runOk('ip', ['-n', netnsName, 'link', 'set', 'lo', 'up']);
    const [pause, image] = await Promise.all([ensurePauseImage(), ensureTestImage()]);
    busybox = image.ref;
    const coldConfig = path.join(tmp, 'cold.toml');
    writeFileSync(coldConfig, installedConfigWith({ enable_template: false }));
    ctd = await PrivateContainerd.start({
      namespace: CRI_NAMESPACE,
      netnsPath,
      cri: {
        sandboxImage: pause.ref,
        runtimes: { [HANDLER]: { runtimeType: RUNTIME }, [COLD_HANDLER]: { runtimeType: RUNTIME, options: { ConfigPath: coldConfig } } },
        cni: { binDir: CNI_BIN, conflist: conflist(path.join(tmp, 'ipam')) },
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
    if (netnsCreated) await run('ip', ['netns', 'del', netnsName]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (ctd) expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(netnsName);
  }, 120_000);

  const podConfig = (name: string): pb.runtime.v1.PodSandboxConfig.$Properties => ({
    metadata: { name, namespace: 'default', uid: `${name}-${process.pid}`, attempt: 0 },
    hostname: name,
    logDirectory: tmp,
    linux: {},
  });
  const containerConfig = (name: string, command: string[]): pb.runtime.v1.ContainerConfig.$Properties => ({
    metadata: { name, attempt: 0 },
    image: { image: busybox },
    command,
    logPath: `${name}.log`,
  });

  /** The pod's IP (CRI's PodSandboxStatus) and its netns path (from the verbose info's runtime spec). */
  async function podNetwork(pod: string): Promise<{ ip: string; netns: string }> {
    const r = await cri.call('podSandboxStatus', { podSandboxId: pod, verbose: true });
    const info = JSON.parse(r.info?.info ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } } };
    const netns = info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? '';
    return { ip: r.status?.network?.ip ?? '', netns };
  }

  const kataProcesses = async (pod: string) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(pod)) || p.argv.includes(`sandbox-${pod}`)));

  it('gives each VM its pod IP and MAC, routes pod to pod and netns to pod, and cleans up taps and filters', async () => {
    const t0 = Date.now();
    const cfgA = podConfig('kata-net-a');
    const cfgB = podConfig('kata-net-b');
    const [podA, podB] = await Promise.all([cri.runPodSandbox(cfgA, COLD_HANDLER), cri.runPodSandbox(cfgB, HANDLER)]);
    pods.push(podA, podB);
    const tPods = Date.now();
    // A's NIC is cold-plugged (on QEMU's command line); B is a clone and gets its NIC hot-plugged.
    const qemuArgv = async (pod: string) => (await kataProcesses(pod)).find((p) => p.argv.includes(`sandbox-${pod}`))?.argv.join(' ') ?? '';
    const [argvA, argvB] = [await qemuArgv(podA), await qemuArgv(podB)];
    expect(argvA).toMatch(/-netdev tap,id=net0,ifname=tap0_kata/);
    expect(argvA).not.toContain('-incoming');
    expect(argvB).toContain('-incoming defer');
    expect(argvB).not.toContain('-netdev');

    const server = await cri.createContainer(podB, containerConfig('httpd', ['sh', '-c',
      `mkdir -p /www && echo '${PAGE}' > /www/index.html && exec httpd -f -p 8080 -h /www`]), cfgB);
    await cri.startContainer(server);
    const client = await cri.createContainer(podA, containerConfig('client', ['sleep', '600']), cfgA);
    await cri.startContainer(client);
    const tStarted = Date.now();

    const netA = await podNetwork(podA);
    const netB = await podNetwork(podB);
    expect(netA.ip).toMatch(/^10\.88\.77\.\d+$/);
    expect(netB.ip).toMatch(/^10\.88\.77\.\d+$/);
    expect(netA.netns).toMatch(/^\/var\/run\/netns\//);

    // For both pods, A's NIC cold-plugged and B's hot-plugged over QMP into a clone:
    // host side, in the pod's netns: the veth and tap0_kata with the same MTU, ingress filters that redirect both ways;
    // guest side: eth0 with the pod IP, the veth's MAC and MTU, and a default route via the bridge.
    for (const [what, net, ctr] of [['pod A (cold-plugged NIC)', netA, client], ['pod B (hot-plugged NIC)', netB, server]] as const) {
      const podLinks = await links(net.netns);
      const veth = podLinks.find((l) => l.ifname === 'eth0');
      const tap = podLinks.find((l) => l.ifname === 'tap0_kata');
      expect({ what, veth: veth?.linkinfo?.info_kind, tap: tap?.linkinfo?.info_kind, tapMtu: tap?.mtu }).toEqual({ what, veth: 'veth', tap: 'tun', tapMtu: veth?.mtu });
      for (const [from, to] of [['eth0', 'tap0_kata'], ['tap0_kata', 'eth0']]) {
        const filters = (await inNetns(net.netns, ['tc', 'filter', 'show', 'dev', from!, 'ingress'])).stdout;
        expect({ what, filters }).toEqual({ what, filters: expect.stringMatching(new RegExp(`mirred \\(Egress Redirect to device ${to}\\)`)) });
      }
      const addr = await cri.execSync(ctr, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
      const mac = await cri.execSync(ctr, ['cat', '/sys/class/net/eth0/address']);
      const mtu = await cri.execSync(ctr, ['cat', '/sys/class/net/eth0/mtu']);
      const routes = await cri.execSync(ctr, ['ip', 'route']);
      expect({ what, addr: addr.stdout, mac: mac.stdout.trim(), mtu: Number(mtu.stdout.trim()), routes: routes.stdout }).toEqual({
        what,
        addr: expect.stringContaining(`inet ${net.ip}/24`),
        mac: veth?.address,
        mtu: veth?.mtu,
        routes: expect.stringMatching(new RegExp(`default via ${GATEWAY.replace(/\./g, '\\.')} dev eth0`)),
      });
    }

    // Pod A → pod B (VM to VM through both taps and the bridge), then the test netns → pod B.
    let fetched = { stdout: '', stderr: '', exitCode: -1 };
    await waitUntil(async () => {
      // (busybox 1.35's wget -T segfaults; timeout(1) bounds it instead)
      fetched = await cri.execSync(client, ['timeout', '5', 'wget', '-q', '-O', '-', `http://${netB.ip}:8080/`], 15);
      return fetched.exitCode === 0;
    }, 60_000, 500);
    expect(fetched).toMatchObject({ exitCode: 0, stdout: `${PAGE}\n` });
    const fromNetns = await inNetns(netnsPath, ['/bin/busybox', 'wget', '-q', '-O', '-', `http://${netB.ip}:8080/`]);
    expect(fromNetns).toMatchObject({ code: 0, stdout: `${PAGE}\n` });
    const tChecked = Date.now();

    // Keep both pod netns alive past CRI's teardown: what is left in them afterwards is what the shim left.
    for (const ns of [netA.netns, netB.netns]) {
      const hold = path.join(tmp, `hold-${path.basename(ns)}`);
      writeFileSync(hold, '');
      await runOk('mount', ['--bind', ns, hold]);
      holds.push(hold);
    }

    for (const [pod, ctr] of [[podA, client], [podB, server]] as const) {
      await cri.stopContainer(ctr, 1);
      await cri.removeContainer(ctr);
      await cri.stopPodSandbox(pod);
      await cri.removePodSandbox(pod);
      pods.splice(pods.indexOf(pod), 1);
    }
    expect(await cri.listPodSandbox()).toEqual([]);

    let procs = await kataProcesses(podA);
    await waitUntil(async () => (procs = [...await kataProcesses(podA), ...await kataProcesses(podB)]).length === 0, 20_000, 200);
    expect(procs.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`)).toEqual([]);
    for (const hold of holds) {
      // CNI DEL took the veth; the shim must have taken the tap (and with it its qdisc and filter).
      const left = (await links(hold)).map((l) => l.ifname);
      expect(left).toEqual(['lo']);
      expect((await inNetns(hold, ['tc', 'qdisc', 'show'])).stdout).not.toMatch(/ingress/);
    }
    const state = await findLeftovers({ paths: [podA, podB].map((id) => path.join(KATA_STATE_DIR, 'sbs', id)) });
    expect(state).toEqual(NO_LEFTOVERS);
    process.stderr.write(`kata-net timings: 2 pods (parallel RunPodSandbox) ${tPods - t0} ms, containers ${tStarted - tPods} ms, ` +
      `checks ${tChecked - tStarted} ms, teardown ${Date.now() - tChecked} ms\n`);
  }, TEST_TIMEOUT_MS);
});
