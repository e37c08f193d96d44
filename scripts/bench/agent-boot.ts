// Agent boot benchmark (run with scripts/bench/agent-boot.sh):
//   - QEMU start -> the agent answering grpc.Health/Check on the virtio-serial channel (median of N boots)
//   - the floor: the same QEMU and kernel booting an init that powers off at once (QEMU start -> exit)
//   - their ratio (target: <= 1.5)
//   - the same from a VM template (as the shim's [factory] enable_template does): one template VM is
//     booted and saved, then each run starts a clone (-incoming, the template's RAM mapped privately)
//     and times QEMU start -> Health.Check answered
//   - the agent's RSS in the guest, idle and with 10 containers (GetMetrics kata_agent_total_rss)
//   - the image sizes
// Every QEMU is killed by pid when its run is over.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { QmpClient, restoreVmState, saveVmState } from '@kata-ts/shim';
import os from 'node:os';
import path from 'node:path';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { Client, createServiceClient } from 'ttrpc-ts';
import { bootGuest, ensureGuestImage, IMAGES_OUT, REPO, within } from '../../packages/agent/test/harness/guest-vm';
import { makeBusyboxRootfs } from '../../packages/agent/test/harness/rootfs';
import { busyboxSpec } from '../../packages/agent/test/harness/spec';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const RUNS = Number(opt('--runs', '5'));
const CONTAINERS = Number(opt('--containers', '10'));
const INITRD = opt('--initrd', '');
const FORMAT = opt('--format', '') as '' | 'initrd' | 'disk';
const SKIP_BUILD = args.includes('--no-build');
const READY_ONLY = args.includes('--ready-only');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

async function agentReady(): Promise<number> {
  const vm = bootGuest({ initrd: INITRD || undefined, format: FORMAT || undefined });
  try {
    const client = new Client(await vm.connect());
    await createServiceClient(client, HealthService).check({ service: '' }, { timeoutMs: 120_000 });
    const t = performance.now() - vm.startedAt;
    client.close();
    return t;
  } finally {
    await vm.kill();
  }
}

interface Template {
  memory: string;
  state: string;
}

/** Boots a template VM until its agent answers, then saves it (RAM stays in its file). */
async function makeTemplate(dir: string): Promise<Template> {
  const t: Template = { memory: path.join(dir, 'memory'), state: path.join(dir, 'state') };
  const vm = bootGuest({ format: FORMAT || undefined, template: { memoryFile: t.memory, shared: true, incoming: false } });
  try {
    const client = new Client(await vm.connect());
    await createServiceClient(client, HealthService).check({ service: '' }, { timeoutMs: 120_000 });
    client.close();
    // Let the agent see the hang-up and reopen its port before the VM is frozen (as the shim does).
    await new Promise((r) => setTimeout(r, 500));
    const qmp = await QmpClient.connect(vm.qmpSocket, 10_000);
    await saveVmState(qmp, t.state, 30_000);
    qmp.close();
    return t;
  } finally {
    await vm.kill();
  }
}

/** QEMU start -> Health.Check answered, for a clone of the template. */
async function cloneReady(t: Template): Promise<number> {
  const vm = bootGuest({ format: FORMAT || undefined, template: { memoryFile: t.memory, shared: false, incoming: true } });
  try {
    const qmp = await QmpClient.connect(vm.qmpSocket, 10_000);
    await restoreVmState(qmp, t.state, 30_000);
    qmp.close();
    const client = new Client(await vm.connect());
    await createServiceClient(client, HealthService).check({ service: '' }, { timeoutMs: 30_000 });
    const ms = performance.now() - vm.startedAt;
    client.close();
    return ms;
  } finally {
    await vm.kill();
  }
}

async function floor(): Promise<number> {
  const vm = bootGuest({ initrd: path.join(IMAGES_OUT, 'floor-initrd.img'), noChannel: true });
  try {
    const code = await within(vm.exited, 120_000);
    if (code === 'timeout') throw new Error('floor VM did not power off');
    return performance.now() - vm.startedAt;
  } finally {
    await vm.kill();
  }
}

function rssFrom(metrics: string, name = 'kata_agent_total_rss'): number {
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
}

async function memory(): Promise<{ idle: number; idleAnon: number; idleFile: number; loaded: number; created: number }> {
  const shared = mkdtempSync(path.join(os.tmpdir(), 'kata-bench-share-'));
  const vm = bootGuest({ sharedDir: shared, initrd: INITRD || undefined, format: FORMAT || undefined });
  try {
    const client = new Client(await vm.connect());
    const agent = createServiceClient(client, AgentService);
    await createServiceClient(client, HealthService).check({ service: '' }, { timeoutMs: 120_000 });
    // Let start-up garbage settle before reading the idle figure.
    await new Promise((r) => setTimeout(r, 3000));
    const idleMetrics = (await agent.getMetrics({})).metrics;
    const idle = rssFrom(idleMetrics);
    const idleAnon = rssFrom(idleMetrics, 'kata_agent_rss_anon');
    const idleFile = rssFrom(idleMetrics, 'kata_agent_rss_file');
    const guestShared = '/run/kata-containers/shared/containers';
    await agent.createSandbox({
      sandboxId: 'bench0', hostname: 'bench',
      storages: [{ driver: '9p', source: 'kataShared', fstype: '9p', options: ['trans=virtio,version=9p2000.L,cache=mmap', 'nodev'], mountPoint: guestShared }],
    });
    let created = 0;
    for (let i = 0; i < CONTAINERS; i++) {
      const id = `bench${i}`;
      makeBusyboxRootfs(path.join(shared, id, 'rootfs'));
      await agent.createContainer({ containerId: id, execId: id, OCI: busyboxSpec(['sleep', '100000'], { rootPath: `${guestShared}/${id}/rootfs` }) });
      await agent.startContainer({ containerId: id });
      created++;
    }
    await new Promise((r) => setTimeout(r, 2000));
    const loaded = rssFrom((await agent.getMetrics({})).metrics);
    await agent.destroySandbox({});
    client.close();
    return { idle, idleAnon, idleFile, loaded, created };
  } finally {
    await vm.kill();
    rmSync(shared, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!SKIP_BUILD && !INITRD) ensureGuestImage();
  console.log(`agent boot benchmark: image format ${FORMAT || 'default'}, ${RUNS} runs each, QEMU TCG q35, 1 vCPU, 512 MiB; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const ready: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so a change in the machine's load hits both series alike.
    floors.push(await floor());
    ready.push(await agentReady());
    console.log(`  run ${i + 1}: floor ${sec(floors[i]!)}, agent ready ${sec(ready[i]!)}`);
  }
  const r = median(ready);
  const f = median(floors);
  console.log(`agent ready (QEMU start -> Health.Check answered): median ${sec(r)}  [${ready.map(sec).join(', ')}]`);
  console.log(`floor (QEMU start -> trivial init powered off):    median ${sec(f)}  [${floors.map(sec).join(', ')}]`);
  console.log(`ratio agent/floor: ${(r / f).toFixed(2)} (target <= 1.5)`);
  if (!INITRD) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kata-bench-template-'));
    try {
      const t0 = performance.now();
      const t = await makeTemplate(dir);
      const made = performance.now() - t0;
      const clones: number[] = [];
      for (let i = 0; i < RUNS; i++) clones.push(await cloneReady(t));
      const c = median(clones);
      console.log(`agent ready from a VM template (clone: QEMU start -> Health.Check): median ${sec(c)}  [${clones.map(sec).join(', ')}]; template made in ${sec(made)}, state ${mib(statSync(t.state).size)}`);
      console.log(`ratio template clone/floor: ${(c / f).toFixed(2)} (target <= 1.5)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (READY_ONLY) return;
  const mem = await memory();
  console.log(`agent RSS in the guest: idle ${mib(mem.idle)} (target <= 40 MiB: anonymous ${mib(mem.idleAnon)} + mapped files ${mib(mem.idleFile)}, mostly node's own binary); with ${mem.created} containers ${mib(mem.loaded)}`);
  const size = (f: string): string => mib(statSync(path.join(IMAGES_OUT, f)).size);
  const bundle = path.join(REPO, 'packages/agent/dist/kata-agent.js');
  console.log(`images: vmlinux ${size('vmlinux')}, kata-initrd.img ${size('kata-initrd.img')}, `
    + `kata-boot-initrd.img ${size('kata-boot-initrd.img')} + kata-rootfs.erofs ${size('kata-rootfs.erofs')}, floor-initrd.img ${size('floor-initrd.img')}; `
    + `agent bundle ${mib(statSync(bundle).size)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
