/**
 * `kata-ts monitor` (Kata's kata-monitor): one host process that Prometheus scrapes; each scrape
 * reads every running sandbox's shim monitor endpoint and serves the union, with the CRI pod's
 * labels where the sandbox came from the CRI. It holds nothing a shim depends on: stop it, start
 * it again, nothing is lost but counters.
 */
import path from 'node:path';
import { loadEffectiveConfig } from '../config-lookup';
import type { Output } from '../output';
import { CriPods } from '../monitor/cri-pods';
import { MonitorServer } from '../monitor/monitor-server';

export interface MonitorArgs {
  config?: string;
  /** host:port (Kata's -listen-address). */
  listenAddress: string;
  /** The CRI socket for pod labels; '' for none. */
  runtimeEndpoint: string;
  /** Seconds one shim may take to answer a scrape. */
  scrapeTimeout: number;
}

export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1:8090';
export const DEFAULT_RUNTIME_ENDPOINT = '/run/containerd/containerd.sock';

/** Splits host:port, [v6]:port included; undefined when it is not one. */
export function parseListenAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Runs until SIGTERM or SIGINT. */
export async function monitorCommand(args: MonitorArgs, out: Output): Promise<number> {
  const listen = parseListenAddress(args.listenAddress);
  if (!listen) {
    out.error(`kata-ts monitor: --listen-address ${JSON.stringify(args.listenAddress)} is not host:port\n`);
    return 2;
  }
  if (!(args.scrapeTimeout > 0)) {
    out.error('kata-ts monitor: --scrape-timeout must be a positive number of seconds\n');
    return 2;
  }
  const { config, error } = await loadEffectiveConfig(args.config);
  if (error) {
    out.error(`kata-ts monitor: ${error}\n`);
    return 2;
  }
  const cri = args.runtimeEndpoint ? new CriPods(args.runtimeEndpoint) : undefined;
  const log = (level: 'info' | 'warn', message: string, fields: Record<string, unknown> = {}) =>
    out.error(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  const server = new MonitorServer({ sbsDir: path.join(config.runtime.stateDir, 'sbs'), cri, scrapeTimeoutMs: args.scrapeTimeout * 1000, log });
  let port: number;
  try {
    port = await server.listen(listen.host, listen.port);
  } catch (err) {
    out.error(`kata-ts monitor: cannot listen on ${args.listenAddress}: ${(err as Error).message}\n`);
    cri?.close();
    return 1;
  }
  log('info', 'kata-ts monitor serving', { listen: `${listen.host}:${port}`, sandboxes: path.join(config.runtime.stateDir, 'sbs'), cri: args.runtimeEndpoint || 'none' });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  cri?.close();
  log('info', 'kata-ts monitor stopped');
  return 0;
}
