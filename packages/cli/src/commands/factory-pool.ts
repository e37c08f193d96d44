/**
 * `kata-ts factory serve|stop` and the pool part of `factory status`: the warm VM pool service
 * (Kata's VM cache server). serve runs in the foreground (systemd's Type=simple, or `setsid` in
 * scripts/install.sh) and records its pid beside its socket; stop ends the one that pid file names.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createLogger, flushLogger, poolStatus, processArgv, servePool, VmPool, type ShimConfig } from '@kata-ts/shim';
import type { Output } from '../output';

const pidFileOf = (config: ShimConfig) => path.join(path.dirname(config.factory.vmCacheEndpoint), 'factory.pid');

/** Serves the pool until SIGTERM or SIGINT; the VMs still waiting are stopped, handed-over ones stay. */
export async function serveFactory(config: ShimConfig, out: Output): Promise<number> {
  if (config.factory.vmCacheNumber <= 0) {
    out.error('kata-ts factory serve: [factory] vm_cache_number is 0: no pool to serve\n');
    return 1;
  }
  const endpoint = config.factory.vmCacheEndpoint;
  const log = createLogger({ base: { name: 'kata-ts-factory', pid: process.pid } });
  const running = await runningFactoryPid(config);
  if (running) {
    out.error(`kata-ts factory serve: a factory (pid ${running}) already serves ${endpoint}\n`);
    return 1;
  }
  const pool = new VmPool({ config, size: config.factory.vmCacheNumber, dir: path.dirname(endpoint), log });
  const server = await servePool(pool, endpoint, log);
  await fs.writeFile(pidFileOf(config), `${process.pid}\n`, { mode: 0o644 });
  log.info({ endpoint, size: config.factory.vmCacheNumber }, 'factory serving');
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await Promise.race([pool.start(), stopped]).catch((err: Error) => log.error({ err: err.message }, 'the pool cannot start'));
  await stopped;
  log.info('factory stopping');
  server.close();
  await pool.close();
  await fs.rm(endpoint, { force: true });
  await fs.rm(pidFileOf(config), { force: true });
  // Handed-over VMs belong to their shims: their QEMU processes (still this process's children) and
  // lease connections must not keep the factory alive, nor die with it.
  await flushLogger(log);
  process.exit(0);
}

/** The pid of a live `kata-ts factory serve` for this configuration, if one runs. */
async function runningFactoryPid(config: ShimConfig): Promise<number | undefined> {
  const pid = Number((await fs.readFile(pidFileOf(config), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const argv = await processArgv(pid);
  return argv.includes('factory') && argv.includes('serve') ? pid : undefined;
}

/** Stops the running factory (SIGTERM) and waits for it to go. */
export async function stopFactory(config: ShimConfig): Promise<{ stopped: boolean; pid?: number }> {
  const pid = await runningFactoryPid(config);
  if (!pid) return { stopped: false };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { stopped: !existsSync(`/proc/${pid}`), pid };
}

/** The pool's status lines and data, or why there is none. */
export async function poolFacts(config: ShimConfig): Promise<{ text: string; data: Record<string, unknown> }> {
  if (config.factory.vmCacheNumber <= 0) return { text: 'VM pool off (vm_cache_number = 0)', data: { pool: 'off' } };
  try {
    const s = await poolStatus(config.factory.vmCacheEndpoint);
    const ready = (s.ready as Array<{ name: string; qemuPid: number; readyMs: number }>) ?? [];
    const lines = [`VM pool at ${config.factory.vmCacheEndpoint} (factory pid ${String(s.pid)}): ${ready.length}/${String(s.target)} ready, ${String(s.starting)} starting, ${String(s.handedOver)} handed over`];
    for (const vm of ready) lines.push(`  ${vm.name}  qemu pid ${vm.qemuPid}  ready in ${(vm.readyMs / 1000).toFixed(1)} s`);
    if (s.problem) lines.push(`  cannot fill: ${String(s.problem)}`);
    if (s.lastError) lines.push(`  last failure: ${String(s.lastError)}`);
    return { text: lines.join('\n'), data: { pool: s } };
  } catch (err) {
    return { text: `VM pool not running at ${config.factory.vmCacheEndpoint} (${(err as Error).message}): sandboxes clone the template`, data: { pool: 'not running' } };
  }
}
