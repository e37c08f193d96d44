/**
 * Metrics as an operator runs them (issue 10): two real pods on a private containerd (one through
 * the CRI, one plain `ctr run`), the installed `kata-ts monitor` scraping their shims, and a real
 * Prometheus server (Debian's) scraping the monitor. Everything is read back the way a dashboard
 * would: through Prometheus's HTTP query API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pb } from '@kata-ts/protocol/cri';
import {
  CRI_NAMESPACE, CriClient, KataCtr, NO_LEFTOVERS, PrivateContainerd, describeKata, ensurePauseImage, ensureTestImage, installedConfigWith,
  run, sandboxFootprint, settledLeftovers, waitUntil,
} from './harness';
import { itNeeding, which } from './harness/host-requirements';
import { listProcesses } from './harness/procfs';

const v1 = pb.runtime.v1;
const HANDLER = 'kata';
const TEST_TIMEOUT_MS = 300_000;

/** A free loopback port (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function httpGet(port: number, urlPath: string, timeoutMs = 20_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** Starts a child and keeps its output for error messages. */
function startChild(file: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describeKata('kata-ts monitor scraped by Prometheus', () => {
  const prometheus = which('prometheus');
  let ctd: PrivateContainerd;
  let cri: CriClient;
  let kata: KataCtr;
  let tmpDir: string;
  let monitor: ReturnType<typeof startChild> | undefined;
  let prom: ReturnType<typeof startChild> | undefined;
  let monitorPort: number;
  let promPort: number;
  let podId: string | undefined;
  let sleeper: string;
  const plainId = `kata-mon-${process.pid}`;
  const podUid = `kata-mon-uid-${process.pid}`;

  /** Prometheus's answer to an instant query. */
  const query = async (promql: string): Promise<PromSeries[]> => {
    const res = await httpGet(promPort, `/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = JSON.parse(res.body) as { status: string; data?: { result: PromSeries[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? res.body}`);
    return body.data!.result;
  };
  const valueOf = async (promql: string): Promise<number | undefined> => {
    const r = await query(promql);
    return r[0] ? Number(r[0].value[1]) : undefined;
  };

  beforeAll(async () => {
    if (!prometheus) return;
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-monitor-e2e-'));
    const [pause, image] = await Promise.all([ensurePauseImage(), ensureTestImage()]);
    ctd = await PrivateContainerd.start({ namespace: CRI_NAMESPACE, cri: { sandboxImage: pause.ref, runtimes: { [HANDLER]: { runtimeType: 'io.containerd.kata.v2' } } } });
    await ctd.importImage(pause.tarPath);
    await ctd.importImage(image.tarPath);
    cri = new CriClient(ctd.layout.address);
    await cri.waitReady();
    kata = new KataCtr(ctd, image.ref);

    // Pod 1, through the CRI: a pod with a container that will allocate memory on demand.
    const hostNetwork = { namespaceOptions: { network: v1.NamespaceMode.NODE, pid: v1.NamespaceMode.CONTAINER, ipc: v1.NamespaceMode.POD } };
    const podConfig = { metadata: { name: 'metrics-pod', namespace: 'monitoring-test', uid: podUid, attempt: 0 }, hostname: 'metrics-pod', logDirectory: tmpDir, linux: { securityContext: hostNetwork } };
    podId = await cri.runPodSandbox(podConfig, HANDLER);
    sleeper = await cri.createContainer(podId, { metadata: { name: 'sleeper', attempt: 0 }, image: { image: image.ref }, command: ['sleep', '100000'], logPath: 'sleeper.log', linux: { securityContext: hostNetwork } }, podConfig);
    await cri.startContainer(sleeper);
    // Pod 2, a plain `ctr run`: no CRI labels.
    const config = path.join(tmpDir, 'config.toml');
    writeFileSync(config, installedConfigWith({}));
    await kata.runDetached(plainId, config, ['sleep', '100000']);

    monitorPort = await freePort();
    promPort = await freePort();
    monitor = startChild('kata-ts', ['monitor', '--listen-address', `127.0.0.1:${monitorPort}`, '--runtime-endpoint', ctd.layout.address, '--scrape-timeout', '2']);
    writeFileSync(path.join(tmpDir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 2s', '  scrape_timeout: 2s',
      'scrape_configs:', '  - job_name: kata', '    static_configs:', `      - targets: ['127.0.0.1:${monitorPort}']`, '',
    ].join('\n'));
    prom = startChild(prometheus, [`--config.file=${path.join(tmpDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(tmpDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--storage.tsdb.retention.time=1h']);
    const answers = (port: number, urlPath: string) => async () => (await httpGet(port, urlPath).catch(() => ({ status: 0 }))).status === 200;
    if (!await waitUntil(answers(monitorPort, '/'), 30_000, 300)) throw new Error(`kata-ts monitor did not start:\n${monitor.output()}`);
    if (!await waitUntil(answers(promPort, '/-/ready'), 60_000, 500)) throw new Error(`prometheus did not start:\n${prom.output()}`);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await stopChild(prom?.child);
    await stopChild(monitor?.child);
    if (podId && cri) {
      await cri.stopPodSandbox(podId).catch(() => undefined);
      await cri.removePodSandbox(podId).catch(() => undefined);
    }
    if (kata) await kata.remove(plainId).catch(() => undefined);
    if (ctd) expect(await settledLeftovers(sandboxFootprint(ctd, [plainId, ...(podId ? [podId] : [])]))).toEqual(NO_LEFTOVERS);
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  itNeeding(prometheus ? undefined : 'prometheus is not installed (scripts/install-deps.sh installs it)',
    'Prometheus holds per-sandbox shim, hypervisor, agent and guest series, CRI labels on the CRI pod, and they follow a container\'s memory', async () => {
      const ids = [podId!, plainId];
      const families = ['kata_shim_threads', 'kata_shim_proc_status', 'kata_hypervisor_threads', 'kata_hypervisor_proc_status', 'kata_agent_total_rss', 'kata_guest_meminfo'];
      const everyFamilyForBoth = async () => {
        for (const f of families) {
          const got = new Set((await query(`count by (sandbox_id) (${f})`)).map((s) => s.metric.sandbox_id));
          if (!ids.every((id) => got.has(id))) return false;
        }
        return true;
      };
      const ready = await waitUntil(everyFamilyForBoth, 90_000, 2_000);
      if (!ready) throw new Error(`Prometheus lacks series; monitor says:\n${(await httpGet(monitorPort, '/metrics').catch((e: Error) => ({ body: e.message }))).body.slice(0, 3000)}\nprometheus:\n${prom?.output()}\nmonitor:\n${monitor?.output()}`);

      // The CRI pod carries its pod's labels, the plain one none.
      const shim = await query('kata_shim_threads');
      const crIPod = shim.find((s) => s.metric.sandbox_id === podId)!;
      expect(crIPod.metric).toMatchObject({ cri_uid: podUid, cri_name: 'metrics-pod', cri_namespace: 'monitoring-test', job: 'kata' });
      expect(shim.find((s) => s.metric.sandbox_id === plainId)!.metric.cri_name).toBeUndefined();
      expect(await valueOf(`kata_agent_containers{sandbox_id="${podId}"}`)).toBe(2); // the pause container and the sleeper
      expect(await valueOf(`kata_shim_rpc_durations_histogram_milliseconds_count{sandbox_id="${plainId}",action="Create"}`)).toBe(1);
      expect(await valueOf(`kata_monitor_running_shim_count`)).toBeGreaterThanOrEqual(2);

      // A container allocates 96 MiB and holds it: the guest's available memory falls by about that.
      const available = `kata_guest_meminfo{sandbox_id="${podId}",item="MemAvailable"}`;
      const before = (await valueOf(available))!;
      const hold = await cri.execSync(sleeper, ['sh', '-c', 'awk \'BEGIN { s = sprintf("%100663296s", ""); system("sleep 100000") }\' </dev/null >/dev/null 2>&1 &']);
      expect(hold.exitCode).toBe(0);
      const fell = await waitUntil(async () => ((await valueOf(available)) ?? before) < before - 64 * 1048576, 60_000, 2_000);
      expect({ fell, before, after: await valueOf(available) }).toMatchObject({ fell: true });
      // The other pod's guest did not move with it.
      expect(await valueOf(`kata_guest_meminfo{sandbox_id="${plainId}",item="MemAvailable"}`)).toBeGreaterThan(64 * 1048576);
    }, TEST_TIMEOUT_MS);

  itNeeding(prometheus ? undefined : 'prometheus is not installed', 'a shim that stops answering costs its own sandbox\'s metrics, never the scrape; unknown ids get a clear answer', async () => {
    const plainShim = (await listProcesses()).find((p) => p.state !== 'Z' && p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(plainId));
    expect(plainShim).toBeDefined();
    process.kill(plainShim!.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const res = await httpGet(monitorPort, '/metrics');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(res.status).toBe(200);
      expect(res.body).toMatch(new RegExp(`^kata_monitor_sandbox_up\\{sandbox_id="${plainId}"\\} 0$`, 'm'));
      expect(res.body).toMatch(new RegExp(`^kata_monitor_sandbox_up\\{sandbox_id="${podId}",cri_uid="${podUid}".*\\} 1$`, 'm'));
      expect(res.body).toMatch(new RegExp(`^kata_guest_load\\{sandbox_id="${podId}"`, 'm'));
      expect(res.body).not.toMatch(new RegExp(`^kata_shim_threads\\{sandbox_id="${plainId}"`, 'm'));
    } finally {
      process.kill(plainShim!.pid, 'SIGCONT');
    }
    expect(await httpGet(monitorPort, '/agent-url?sandbox=no-such-sandbox')).toEqual({ status: 404, body: 'no running sandbox "no-such-sandbox"\n' });
    expect((await httpGet(monitorPort, `/agent-url?sandbox=${plainId}`)).body).toMatch(/^virtio-serial:\/\/\/\S+\n$/);
    const sandboxes = JSON.parse((await httpGet(monitorPort, '/sandboxes')).body) as Array<{ id: string; cri?: { uid: string } }>;
    expect(sandboxes.find((s) => s.id === podId)?.cri?.uid).toBe(podUid);
    expect(sandboxes.find((s) => s.id === plainId)).toEqual({ id: plainId });
    const bad = await run('kata-ts', ['monitor', '--listen-address', 'nowhere'], { timeoutMs: 30_000 });
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('--listen-address "nowhere" is not host:port');
  }, TEST_TIMEOUT_MS);
});
