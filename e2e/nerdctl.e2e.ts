/**
 * kata-ts under nerdctl: a private containerd 2.x (the peer install-peers.sh built) and nerdctl both
 * running inside a test-owned network namespace, `--runtime io.containerd.kata.v2`, the busybox test
 * image loaded with `nerdctl load` (no registry: `--pull never`), real QEMU and the installed guest.
 *
 * nerdctl networks containers through OCI hooks the runtime runs on the host (createRuntime: CNI ADD,
 * published ports, /etc/hosts; poststop: their undoing). The shim runs them, gives a container that asks
 * for a network namespace one of its own (named to the hooks by the nerdctl/network-namespace
 * annotation, as Kata does), and the VM's NIC comes from the veth nerdctl's bridge plugin put there.
 *
 * Network rules of this machine: traffic only to loopback or to namespaces the test creates. nerdctl's
 * default bridge, the veths, and the iptables rules of `-p` live in the test netns, and every request
 * is sent from there. After each test nothing of its containers is left (shim, QEMU, sandbox directory,
 * containerd task); after the suite the containerd fixture, the netns and nerdctl's data root are gone.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  KATA_STATE_DIR, NO_LEFTOVERS, Nerdctl, PrivateContainerd, availableContainerds, describeKata, ensureTestImage, findLeftovers, isAlive,
  readGuestManifest, run, settledLeftovers, waitUntil, type CommandResult,
} from './harness';
import { listProcesses } from './harness/procfs';
import { TestNetns } from './harness/test-netns';

const RUNTIME = 'io.containerd.kata.v2';
const TEST_TIMEOUT_MS = 300_000;
/** host-local's default state directory (nerdctl's networks set none): one directory per network name. */
const CNI_IPAM_DIR = '/var/lib/cni/networks';

const ctd2 = availableContainerds().flavours.find((f) => f.label === '2.x');
const missing = !Nerdctl.builtProgram() ? 'nerdctl was not built (scripts/install-peers.sh nerdctl)'
  : !ctd2 ? 'containerd 2.x was not built (scripts/install-peers.sh containerd2)' : undefined;

/** Asserts a command's exit code (and stdout), showing everything when it differs. */
function expectResult(r: CommandResult, code: number, stdout?: string): void {
  if (r.code === code && (stdout === undefined || r.stdout === stdout)) return;
  throw new Error(`expected exit ${code}${stdout === undefined ? '' : ` and stdout ${JSON.stringify(stdout)}`}, got exit ${r.code}` +
    `${r.timedOut ? ' (timed out)' : ''}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr.slice(-2000))}`);
}

const timings: string[] = [];
const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
};

describeKata('kata-ts through nerdctl (io.containerd.kata.v2, containerd 2.x)', () => {
  let tmp: string;
  let netns: TestNetns | undefined;
  let ctd: PrivateContainerd | undefined;
  let nerdctl: Nerdctl;
  let image: string;
  let guestKernel: string;
  /** Full ids of the containers the current test made (for its leftover check). */
  let ids: string[] = [];
  let n = 0;

  const kata = () => ['--runtime', RUNTIME, '--pull', 'never'];
  const cidFile = () => path.join(tmp, `cid-${n++}`);
  const noteCid = (file: string) => {
    if (existsSync(file)) ids.push(readFileSync(file, 'utf8').trim());
  };
  /** `nerdctl run --rm` of the test image; records the container id. */
  const runRm = async (flags: string[], args: string[], input?: string): Promise<CommandResult> => {
    const cid = cidFile();
    try {
      return await nerdctl.run(['run', '--rm', ...kata(), '--cidfile', cid, ...flags, image, ...args], { input });
    } finally {
      noteCid(cid);
    }
  };
  /** `nerdctl run -d`; returns (and records) the full container id. */
  const runDetached = async (flags: string[], args: string[]): Promise<string> => {
    const r = await nerdctl.run(['run', '-d', ...kata(), ...flags, image, ...args]);
    expectResult(r, 0);
    const id = r.stdout.trim();
    ids.push(id);
    return id;
  };

  /** Live shims of this containerd and QEMUs of the given sandboxes. */
  const kataProcesses = async (sandboxIds: readonly string[]) =>
    (await listProcesses()).filter((p) => p.state !== 'Z' && (
      (p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && !!ctd && p.argv.includes(ctd.layout.address)) ||
      sandboxIds.some((id) => p.argv.includes(`sandbox-${id}`))));

  beforeAll(async () => {
    if (missing) throw new Error(missing);
    guestKernel = readGuestManifest().kernel.version;
    tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-nerdctl-'));
    netns = await TestNetns.create('katats-nerd');
    ctd = await PrivateContainerd.start({ flavour: ctd2, netnsPath: netns.path });
    nerdctl = new Nerdctl({ address: ctd.layout.address, namespace: ctd.namespace, dir: tmp, netnsPath: netns.path });
    const img = await ensureTestImage();
    await nerdctl.ok(['load', '-i', img.tarPath]);
    image = img.ref;
  }, 180_000);

  afterAll(async () => {
    if (ctd && nerdctl) {
      const left = (await nerdctl.run(['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean);
      if (left.length > 0) await nerdctl.run(['rm', '-f', ...left]);
    }
    if (ctd && process.env.KATA_TS_E2E_KEEP_LOG) writeFileSync(process.env.KATA_TS_E2E_KEEP_LOG, readFileSync(ctd.layout.logFile));
    await ctd?.stop();
    await netns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    // nerdctl's run directory for the namespace (port reservers' pid files) is ours alone; it must be empty.
    const runDir = ctd ? path.join('/run/nerdctl', ctd.namespace) : '';
    const runDirLeft = runDir && existsSync(runDir) ? readdirSync(runDir) : [];
    if (runDir && existsSync(runDir) && runDirLeft.length === 0) rmdirSync(runDir);
    process.stderr.write(`nerdctl timings: ${timings.join(', ')}\n`);
    if (ctd) {
      expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
      // nerdctl's own state: its data root (in tmp) and its per-namespace run directory.
      expect(runDirLeft).toEqual([]);
      expect(await findLeftovers({ paths: [tmp, runDir] })).toEqual(NO_LEFTOVERS);
      expect(await kataProcesses([])).toEqual([]);
    }
    if (netns) expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(netns.name);
  }, 180_000);

  beforeEach(() => {
    ids = [];
  });

  afterEach(async () => {
    // Every container of the test was removed: no task, no shim, no QEMU, no sandbox directory.
    expect((await nerdctl.run(['ps', '-a', '-q'])).stdout).toBe('');
    expect(await ctd!.tasks()).toEqual([]);
    let procs = await kataProcesses(ids);
    await waitUntil(async () => (procs = await kataProcesses(ids)).length === 0, 20_000, 200);
    expect(procs.map((p) => `${p.pid} ${p.argv.slice(0, 4).join(' ')}`)).toEqual([]);
    expect(await settledLeftovers({ paths: ids.map((id) => path.join(KATA_STATE_DIR, 'sbs', id)) })).toEqual(NO_LEFTOVERS);
  }, 60_000);

  it('run --rm prints the output, propagates the exit code, and runs on the guest kernel', async () => {
    const r = await timed('run --rm (bridge)', () => runRm([], ['sh', '-c', 'echo hello from kata-ts; exit 3']));
    expectResult(r, 3, 'hello from kata-ts\n');
    const u = await timed('run --rm uname', () => runRm(['--net', 'none'], ['uname', '-r']));
    expectResult(u, 0, `${guestKernel}\n`);
    expect(guestKernel).not.toBe(os.release());
    expect(ids).toHaveLength(2);
  }, TEST_TIMEOUT_MS);

  it('run -d, logs, exec, stop, rm', async () => {
    const name = `kata-d-${process.pid}`;
    // busybox sh as PID 1 ignores SIGTERM unless it traps it; the trap makes `stop` prompt.
    const id = await timed('run -d', () => runDetached(['--name', name], ['sh', '-c', 'echo started; echo to-stderr >&2; trap "echo stopping; exit 0" TERM; while :; do sleep 1; done']));
    let logs: CommandResult | undefined;
    await waitUntil(async () => (logs = await nerdctl.run(['logs', name])).stdout.includes('started'), 30_000, 250);
    expectResult(logs!, 0, 'started\n');
    expect(logs!.stderr).toBe('to-stderr\n');
    const ex = await timed('exec', () => nerdctl.run(['exec', name, 'sh', '-c', 'echo in-exec $(uname -r)']));
    expectResult(ex, 0, `in-exec ${guestKernel}\n`);
    // nerdctl v2 exits 1 for a failed exec and names the process's code (runc alike; docker would exit 4).
    const failed = await nerdctl.run(['exec', name, 'sh', '-c', 'echo about to fail; exit 4']);
    expectResult(failed, 1, 'about to fail\n');
    expect(failed.stderr).toContain('exec failed with exit code 4');
    const inspect = JSON.parse(await nerdctl.ok(['inspect', id])) as Array<{ State: { Status: string; Running: boolean } }>;
    expect(inspect[0]?.State).toMatchObject({ Status: 'running', Running: true });
    expectResult(await timed('stop', () => nerdctl.run(['stop', name])), 0, `${name}\n`);
    const stopped = JSON.parse(await nerdctl.ok(['inspect', id])) as Array<{ State: { Status: string; ExitCode: number } }>;
    expect(stopped[0]?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect((await nerdctl.ok(['logs', name]))).toBe('started\nstopping\n');
    expectResult(await timed('rm', () => nerdctl.run(['rm', name])), 0, `${name}\n`);
  }, TEST_TIMEOUT_MS);

  it('run -it gives the container a terminal and returns its exit code', async () => {
    const cid = cidFile();
    const r = await timed('run -it', () => nerdctl.withTty(['run', '-it', '--rm', ...kata(), '--cidfile', cid, image, 'sh'], 'tty; echo tty-$((6*7)); exit 5\n'));
    noteCid(cid);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toContain('tty-42');
    expect(r.code).toBe(5);
  }, TEST_TIMEOUT_MS);

  it('-v host dir read-write and read-only', async () => {
    const rw = path.join(tmp, 'vol-rw');
    const ro = path.join(tmp, 'vol-ro');
    mkdirSync(rw);
    mkdirSync(ro);
    writeFileSync(path.join(rw, 'host.txt'), 'written by the host\n');
    writeFileSync(path.join(ro, 'keep.txt'), 'original\n');
    const r = await timed('run -v rw', () => runRm(['--net', 'none', '-v', `${rw}:/data`], ['sh', '-c', 'cat /data/host.txt; echo written by the guest > /data/guest.txt']));
    expectResult(r, 0, 'written by the host\n');
    expect(readFileSync(path.join(rw, 'guest.txt'), 'utf8')).toBe('written by the guest\n');
    const w = await timed('run -v ro', () => runRm(['--net', 'none', '-v', `${ro}:/ro:ro`], ['sh', '-c', 'cat /ro/keep.txt; echo changed > /ro/keep.txt || echo write-refused; touch /ro/new || echo create-refused']));
    expectResult(w, 0, 'original\nwrite-refused\ncreate-refused\n');
    expect(w.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(path.join(ro, 'keep.txt'), 'utf8')).toBe('original\n');
    expect(existsSync(path.join(ro, 'new'))).toBe(false);
  }, TEST_TIMEOUT_MS);

  it('--net none: the guest has only lo', async () => {
    const r = await timed('run --net none', () => runRm(['--net', 'none'], ['ls', '/sys/class/net']));
    expectResult(r, 0, 'lo\n');
  }, TEST_TIMEOUT_MS);

  it('-p publishes a port on the bridge network, reached from the test netns; the pod IP answers too', async () => {
    const name = `kata-web-${process.pid}`;
    const page = 'served by busybox httpd in a kata-ts VM';
    const id = await timed('run -d -p', () => runDetached(['--name', name, '-p', '8080:80'],
      ['sh', '-c', `mkdir -p /www && echo '${page}' > /www/index.html && trap 'exit 0' TERM; busybox httpd -f -p 80 -h /www & wait`]));
    const gateway = (await nerdctl.ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).trim();
    const ip = (await nerdctl.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name])).trim();
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.1$/);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // The guest's eth0 has the address nerdctl's IPAM gave the container.
    expect((await nerdctl.ok(['exec', name, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']))).toContain(`inet ${ip}/`);
    // (busybox 1.35's wget -T segfaults; timeout(1) bounds it instead)
    const fetch = (url: string) => netns!.exec(['timeout', '10', '/bin/busybox', 'wget', '-q', '-O', '-', url], 20_000);
    let viaPort: CommandResult | undefined;
    await timed('first fetch via -p', () => waitUntil(async () => (viaPort = await fetch(`http://${gateway}:8080/`)).code === 0, 60_000, 500));
    expectResult(viaPort!, 0, `${page}\n`);
    expectResult(await fetch(`http://${ip}:80/`), 0, `${page}\n`);
    // Loopback too: portmap marks 127.0.0.1 sources for masquerade and turns on route_localnet itself.
    expectResult(await fetch('http://127.0.0.1:8080/'), 0, `${page}\n`);
    // nerdctl's port reserver (a `sleep infinity` holding the port) runs while the container does.
    const reserverPidFile = path.join('/run/nerdctl', ctd!.namespace, id, 'port-reserver.pid');
    const reserver = Number(readFileSync(reserverPidFile, 'utf8'));
    expect(await isAlive(reserver)).toBe(true);
    expectResult(await timed('rm -f', () => nerdctl.run(['rm', '-f', name])), 0, `${name}\n`);
    // The poststop hook undid it all: port mapping, reserver, IP lease, veth.
    expect((await fetch(`http://${gateway}:8080/`)).code).not.toBe(0);
    expect(await waitUntil(async () => !(await isAlive(reserver)), 10_000)).toBe(true);
    expect(existsSync(path.join(CNI_IPAM_DIR, 'bridge', ip))).toBe(false);
    expect((await netns!.exec(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout).toBe('');
  }, TEST_TIMEOUT_MS);

  it('compose up -d: service b fetches service a by name; compose down leaves nothing', async () => {
    const project = `katats${process.pid}`;
    const dir = path.join(tmp, 'compose');
    mkdirSync(dir);
    const page = 'hello from service a';
    // `$$` is compose's escape for a literal `$`.
    writeFileSync(path.join(dir, 'compose.yaml'), [
      'services:',
      '  a:',
      `    image: ${image}`,
      `    runtime: ${RUNTIME}`,
      '    pull_policy: never',
      `    command: ["sh", "-c", "mkdir -p /www && echo '${page}' > /www/index.html && trap 'exit 0' TERM; busybox httpd -f -p 80 -h /www & wait"]`,
      '  b:',
      `    image: ${image}`,
      `    runtime: ${RUNTIME}`,
      '    pull_policy: never',
      '    depends_on: [a]',
      '    command: ["sh", "-c", "n=0; until timeout 5 wget -q -O - http://a/; do n=$$((n+1)); [ $$n -lt 60 ] || exit 1; sleep 1; done"]',
      '',
    ].join('\n'));
    const compose = (args: string[]) => nerdctl.run(['compose', '-p', project, '-f', path.join(dir, 'compose.yaml'), ...args], { cwd: dir, timeoutMs: 300_000 });
    expectResult(await timed('compose up -d', () => compose(['up', '-d'])), 0);
    ids.push(...(await nerdctl.ok(['ps', '-a', '-q', '--no-trunc'])).split('\n').filter(Boolean));
    expect(ids).toHaveLength(2);
    const b = `${project}-b-1`;
    let state = { Status: '', ExitCode: -1 };
    await timed('b fetched a', () => waitUntil(async () => {
      state = (JSON.parse(await nerdctl.ok(['inspect', b])) as Array<{ State: typeof state }>)[0]!.State;
      return state.Status === 'exited';
    }, 120_000, 500));
    expect(state).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expectResult(await nerdctl.run(['logs', b]), 0, `${page}\n`);
    // a's /etc/hosts (a file of nerdctl's shared into the VM) also learnt of b, written after a started.
    const hosts = await nerdctl.ok(['exec', `${project}-a-1`, 'cat', '/etc/hosts']);
    expect(hosts).toMatch(/^\S+\s+a a\.\S+_default /m);
    expect(hosts).toMatch(/^\S+\s+b b\.\S+_default /m);
    expectResult(await timed('compose down', () => compose(['down'])), 0);
    expect((await nerdctl.ok(['network', 'ls'])).includes(`${project}_default`)).toBe(false);
    // host-local keeps its state per network name on the host: no lease may be left in the project's.
    const ipam = path.join(CNI_IPAM_DIR, `${project}_default`);
    expect(readdirSync(ipam).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
    rmSync(ipam, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);
});
