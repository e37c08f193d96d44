/**
 * kata-ts shim benchmark, in one run through one private containerd (as root):
 *   - `ctr run --rm <busybox> echo` latency, median of --runs (default 5, after one warm-up run each),
 *     for runc, gVisor (runsc through the runc shim, as environment-notes.md describes) and kata-ts,
 *     twice: with VM templates (the default configuration; the warm-up run makes the template, in
 *     this run's own template directory) and with enable_template = false (every VM boots cold);
 *   - the bare VM floor: QEMU with the same kernel, machine, accelerator, memory and kernel command line
 *     as the shim uses, booting an init that powers off at once (images/out/floor-initrd.img);
 *   - kata-ts / floor, for both;
 *   - host memory per running kata-ts pod: PSS of the shim plus PSS of its QEMU, averaged over --pods
 *     (default 2) pods running `sleep` at the same time, for both (clones share the template's RAM).
 *
 * usage: npx tsx scripts/bench/shim-bench.ts [--runs N] [--pods N] [--format initrd|disk] [--json]
 * kata-ts must be installed (scripts/install.sh); KATA_TS_E2E_IMAGE_DIR points the containers at
 * another image directory through --runtime-config-path, as the e2e tests do (--format then picks
 * which of its root filesystem formats to boot; default: the manifest's).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PrivateContainerd, ensureTestImage, run, waitUntil, which } from '../../e2e/harness';
import { median, numberArg } from './stats';
import { listProcesses } from '../../e2e/harness/procfs';
import { chooseAccel, loadConfig, runtimeOptionsFrom, type ShimConfig } from '@kata-ts/shim';

const REPO = path.resolve(__dirname, '..', '..');
const IMAGE_DIR = process.env.KATA_TS_E2E_IMAGE_DIR;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The configuration text with its [factory] table replaced. */
function withFactory(text: string, enableTemplate: boolean, templatePath: string): string {
  const without = text.replace(/^\[factory\][\s\S]*?(?=^\[|(?![\s\S]))/m, '');
  return `${without.trimEnd()}\n\n[factory]\nenable_template = ${enableTemplate}\ntemplate_path = ${JSON.stringify(templatePath)}\n`;
}

/** PSS of a process in KiB (/proc/<pid>/smaps_rollup). */
function pssKiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
}

/** Boots the floor initrd like the shim boots a sandbox; resolves with the wall time in ms. */
function floorRun(config: ShimConfig, accel: 'kvm' | 'tcg', floorInitrd: string): Promise<number> {
  const h = config.hypervisor;
  const args = [
    '-machine', `q35,accel=${accel}`, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', `${h.defaultMemory}M`, '-smp', `${h.defaultVcpus}`,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-chardev', 'stdio,id=c0,signal=off', '-serial', 'chardev:c0',
    '-kernel', h.kernel, '-initrd', floorInitrd,
    '-append', 'tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests pci=lastbus=0 console=ttyS0 quiet panic=1',
  ];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(h.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`floor VM exited ${code}: ${err}`))));
  });
}

async function main(): Promise<void> {
  const runs = numberArg('runs', 5);
  const pods = numberArg('pods', 2);
  if (process.getuid?.() !== 0) throw new Error('run as root');
  if (!which('containerd-shim-kata-v2')) throw new Error('containerd-shim-kata-v2 is not on PATH: run scripts/install.sh');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-bench-'));
  let configText: string;
  if (IMAGE_DIR) {
    const m = JSON.parse(readFileSync(path.join(IMAGE_DIR, 'manifest.json'), 'utf8'));
    const fi = process.argv.indexOf('--format');
    const format = fi > 0 ? process.argv[fi + 1] : m.default.format;
    const disk = format === 'disk' ? m.formats.disk : undefined;
    configText = [
      '[hypervisor.qemu]',
      `kernel = "${path.join(IMAGE_DIR, m.default.kernel)}"`,
      `initrd = "${path.join(IMAGE_DIR, disk ? disk.initrd : m.formats.initrd.initrd)}"`,
      `image = "${disk ? path.join(IMAGE_DIR, disk.rootfsImage) : ''}"`,
      `rootfs_type = "${disk?.fsType ?? 'erofs'}"`,
      '',
    ].join('\n');
  } else {
    const installed = await loadConfig(runtimeOptionsFrom(undefined));
    configText = readFileSync(installed.source, 'utf8');
  }
  // Both kata-ts variants get a file of their own; templates go to this run's directory.
  const kataConfigs: Record<string, string> = {};
  for (const [name, enable] of [['kata-ts', true], ['kata-ts cold', false]] as const) {
    const file = path.join(tmp, `${name.replace(' ', '-')}.toml`);
    writeFileSync(file, withFactory(configText, enable, path.join(tmp, 'templates')));
    kataConfigs[name] = file;
  }
  const config: ShimConfig = await loadConfig({ configPath: kataConfigs['kata-ts'] });
  const floorInitrd = [IMAGE_DIR, path.join(REPO, 'images', 'out')].filter((d): d is string => !!d).map((d) => path.join(d, 'floor-initrd.img')).find((f) => existsSync(f));
  const gvisorWrapper = path.join(tmp, 'runsc-wrapper');
  writeFileSync(gvisorWrapper, '#!/bin/sh\nexec runsc --network=none --ignore-cgroups "$@"\n', { mode: 0o755 });

  const ctd = await PrivateContainerd.start();
  try {
    const image = (await ensureTestImage()).ref;
    await ctd.importImage((await ensureTestImage()).tarPath);
    const fifo = ['--fifo-dir', path.join(ctd.layout.dir, 'fifo')];
    const runtimes: Array<{ name: string; flags: string[] }> = [{ name: 'runc', flags: [] }];
    if (which('runsc')) runtimes.push({ name: 'gVisor', flags: ['--runc-binary', gvisorWrapper] });
    for (const [name, file] of Object.entries(kataConfigs)) runtimes.push({ name, flags: ['--runtime', 'io.containerd.kata.v2', '--runtime-config-path', file] });

    let n = 0;
    const latency: Record<string, number> = {};
    for (const rt of runtimes) {
      const samples: number[] = [];
      for (let i = 0; i <= runs; i++) {
        const id = `bench-${n++}`;
        let result = { code: 0 as number | null, stdout: '', stderr: '' };
        const ms = await timed(async () => {
          result = await run('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, 'run', '--rm', ...fifo, ...rt.flags, image, id, 'echo', 'hi'], { timeoutMs: 180_000 });
        });
        if (result.code !== 0 || result.stdout !== 'hi\n') throw new Error(`${rt.name}: ctr run failed (${result.code}): ${result.stderr}`);
        if (i > 0) samples.push(ms); // the first run warms caches (image, accel probe)
      }
      latency[rt.name] = median(samples);
      process.stderr.write(`${rt.name}: ${samples.map((s) => s.toFixed(0)).join(' ')} ms\n`);
    }

    let floor: number | undefined;
    if (floorInitrd) {
      const accel = (await chooseAccel(config.hypervisor.accel, { qemu: config.hypervisor.path, kernel: config.hypervisor.kernel, cacheDir: config.runtime.stateDir })).accel;
      const samples: number[] = [];
      for (let i = 0; i <= runs; i++) {
        const ms = await floorRun(config, accel, floorInitrd);
        if (i > 0) samples.push(ms);
      }
      floor = median(samples);
      process.stderr.write(`floor: ${samples.map((s) => s.toFixed(0)).join(' ')} ms\n`);
    }

    // Memory: pods of one variant running together.
    const memory: Record<string, { shim: number; qemu: number; total: number; pods: number }> = {};
    for (const [name, file] of Object.entries(kataConfigs)) {
      const ids = Array.from({ length: pods }, (_, i) => `bench-pod-${n++}-${i}`);
      for (const id of ids) {
        const r = await run('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, 'run', '-d', '--null-io', ...fifo, '--runtime', 'io.containerd.kata.v2', '--runtime-config-path', file, image, id, 'sleep', '600'], { timeoutMs: 180_000 });
        if (r.code !== 0) throw new Error(`pod ${id}: ${r.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 3000)); // let the guests settle after boot
      const procs = await listProcesses();
      const perPod = ids.map((id) => {
        const shim = procs.find((p) => p.argv.some((a) => a.includes('containerd-shim-kata-v2')) && p.argv.includes(id) && p.argv.includes(ctd.layout.address));
        const qemu = procs.find((p) => p.argv.includes(`sandbox-${id}`));
        if (!shim || !qemu) throw new Error(`pod ${id}: shim or QEMU not found`);
        return { shim: pssKiB(shim.pid) / 1024, qemu: pssKiB(qemu.pid) / 1024 };
      });
      for (const id of ids) {
        await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
        await waitUntil(async () => !(await ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
        await ctd.ctr(['task', 'delete', id]);
        await ctd.ctr(['containers', 'delete', id]);
      }
      const avg = (f: (p: { shim: number; qemu: number }) => number) => perPod.reduce((s, p) => s + f(p), 0) / perPod.length;
      memory[name] = { shim: avg((p) => p.shim), qemu: avg((p) => p.qemu), total: avg((p) => p.shim + p.qemu), pods };
    }

    const over = (name: string) => (floor ? (latency[name] as number) / floor : undefined);
    const result = {
      runs,
      latencyMs: latency,
      floorMs: floor,
      kataOverFloor: over('kata-ts'),
      kataColdOverFloor: over('kata-ts cold'),
      memoryPerPodMiB: memory,
      accel: config.hypervisor.accel,
    };
    if (process.argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const f = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(3)} s`);
    const lines = [
      `ctr run --rm busybox echo, median of ${runs} (one containerd, one run):`,
      ...Object.entries(latency).map(([k, v]) => `  ${k.padEnd(12)} ${f(v)}${k === 'kata-ts' ? '   (VM template clone, the default)' : k === 'kata-ts cold' ? '   (enable_template = false: the VM boots)' : ''}`),
      `  ${'floor'.padEnd(12)} ${f(floor)}   (bare VM: same kernel/machine/accel/memory, init powers off)`,
      `  kata-ts / floor = ${result.kataOverFloor?.toFixed(2) ?? 'n/a'};  kata-ts cold / floor = ${result.kataColdOverFloor?.toFixed(2) ?? 'n/a'}`,
      ...Object.entries(memory).map(([k, m]) => `host memory per running ${k} pod (PSS, ${m.pods} pods): shim ${m.shim.toFixed(1)} MiB + QEMU ${m.qemu.toFixed(1)} MiB = ${m.total.toFixed(1)} MiB`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await ctd.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`shim-bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
