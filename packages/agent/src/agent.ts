import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { Server } from 'ttrpc-ts';
import { listenVsock } from './channels/vsock';
import { findVirtioPort, VirtioSerialChannel } from './channels/virtio-serial';
import type { AgentConfig, ListenAddress } from './config';
import { Crun } from './container/crun';
import { DebugConsole } from './console/debug-console';
import { limited, LogLimiter, Logger } from './logging';
import { Metrics } from './metrics';
import { Network } from './network/network';
import { locateRunner } from './process/runner-binary';
import { agentService } from './rpc/agent-service';
import { agentErrorBoundary } from './rpc/boundary';
import { healthService } from './rpc/health-service';
import { Sandbox } from './sandbox/sandbox';
import { StorageManager } from './storage/manager';
import { ensureBootMounts, rootIsInitramfs } from './system/boot';
import { run } from './system/exec';
import { GuestSystem, HostSystem, SystemOps } from './system/system';

/** process.uptime() when the agent's code started running (after node's bootstrap and the bundle's load). */
const MAIN_AT = process.uptime();

/** A running agent: its ttrpc server, its channels and its sandbox. */
export class Agent {
  private readonly closers: Array<() => Promise<void> | void> = [];
  private serials: VirtioSerialChannel[] = [];
  private stopping = false;

  private constructor(
    readonly config: AgentConfig,
    readonly server: Server,
    readonly sandbox: Sandbox,
    private readonly system: SystemOps,
    private readonly log: Logger,
  ) {}

  /** Prepares the guest (or host state), registers the services and listens on every channel. */
  static async start(config: AgentConfig, log: Logger): Promise<Agent> {
    const inGuest = config.mode === 'guest';
    const phase = (name: string): void => log.debug({ uptime: process.uptime() }, `startup: ${name}`);
    phase('main');
    if (inGuest) await ensureBootMounts(log);
    phase('boot mounts');
    const cgroupV2 = existsSync(path.join(config.cgroupRoot, 'cgroup.controllers'));
    const noPivot = config.noPivot ?? rootIsInitramfs();
    // The helper is only needed for the first container: found (or written out) after the channels are up.
    let runnerPath: string | undefined;
    const runner = (): string => (runnerPath ??= locateRunner(config.runner, config.stateDir));
    const crun = new Crun({ binary: config.crun, root: path.join(config.stateDir, 'crun'), noPivot, fixedLayout: config.crunFixedLayout, runner });
    const system: SystemOps = inGuest ? new GuestSystem(runner, log.child({ subsystem: 'system' })) : new HostSystem(log.child({ subsystem: 'system' }));
    const storage = new StorageManager({ roots: config.storageRoots, hotplugTimeoutSec: config.hotplugTimeoutSec, sysRoot: '/sys' }, log.child({ subsystem: 'storage' }));
    const containerCtx = {
      crun, drainMs: config.drainMs, outputBufferBytes: config.outputBufferBytes, log: log.child({ subsystem: 'container' }),
      get runner(): string {
        return runner();
      },
    };
    const sandbox = new Sandbox(config, containerCtx, storage, system, cgroupV2, log);
    const rpcLog = limited(log.child({ subsystem: 'rpc' }), new LogLimiter());
    const server = new Server({ onError: (err) => log.warn({ err: err.message }, 'ttrpc'), toStatus: agentErrorBoundary(rpcLog) });
    const agent = new Agent(config, server, sandbox, system, log);
    const metrics = new Metrics(() => sandbox.containerCount);
    server.register(AgentService, agentService({
      config, sandbox, system, network: new Network(inGuest), metrics, onDestroyed: () => agent.afterDestroy(),
    }));
    server.register(HealthService, healthService());
    phase('services');
    await fs.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    await agent.listen();
    runner();
    // Only a VM whose host enabled the debug console has its port (kata-ts exec).
    const debugConsole = inGuest ? await DebugConsole.open(runner, log.child({ subsystem: 'debug-console' })) : undefined;
    if (debugConsole) agent.closers.push(() => debugConsole.close());
    const g = globalThis as { __kataAgentLoadAt?: number; __kataAgentCompiledAt?: number; __kataAgentCodeCache?: string };
    log.info({
      mode: config.mode, cgroupV2, noPivot, runner: runner(), uptime: process.uptime(), mainAt: MAIN_AT,
      loadAt: g.__kataAgentLoadAt, compiledAt: g.__kataAgentCompiledAt, codeCache: g.__kataAgentCodeCache,
    }, 'agent ready');
    if (config.mode === 'guest') void warmUpSpawn(log);
    return agent;
  }

  private async listen(): Promise<void> {
    // The virtio-serial port first: it is what a booting sandbox's host is waiting on.
    const order = [...this.config.listen].sort((a, b) => Number(b.kind === 'virtio-serial') - Number(a.kind === 'virtio-serial'));
    const results: boolean[] = [];
    for (const l of order) results.push(await this.listenOn(l));
    if (!results.some(Boolean)) throw new Error('no channel to serve on (no virtio-serial port, no vsock, no unix socket)');
  }

  private async listenOn(l: ListenAddress): Promise<boolean> {
    switch (l.kind) {
      case 'unix': {
        await fs.mkdir(path.dirname(l.path), { recursive: true, mode: 0o700 });
        const listener = await this.server.listen(l.path);
        await fs.chmod(l.path, 0o600);
        this.closers.push(() => new Promise<void>((r) => listener.close(() => r())));
        this.log.info({ path: l.path }, 'listening on unix socket');
        return true;
      }
      case 'vsock': {
        const close = await listenVsock(l.port, this.server, this.log);
        if (close) this.closers.push(close);
        return !!close;
      }
      case 'virtio-serial': {
        const dev = await findVirtioPort(l.name);
        if (!dev) {
          this.log.info({ name: l.name }, 'no virtio-serial port with this name');
          return false;
        }
        const ch = new VirtioSerialChannel(dev, this.server, this.log.child({ channel: l.name }));
        await ch.start();
        this.serials.push(ch);
        this.closers.push(() => ch.close());
        this.log.info({ device: dev, name: l.name }, 'serving on virtio-serial port');
        return true;
      }
    }
  }

  /**
   * DestroySandbox answered: let the answer reach the host, then power off. The channels are not
   * closed first: a virtio-serial read parked in the thread pool would hold a close() forever.
   */
  private afterDestroy(): void {
    if (this.stopping) return;
    this.stopping = true;
    setTimeout(() => {
      void (async () => {
        await Promise.all(this.serials.map((s) => s.flush()));
        this.log.info('sandbox destroyed: powering off');
        await this.system.powerOff();
      })();
    }, 20);
  }

  /** Stops serving (tests and signal handling). */
  async close(): Promise<void> {
    for (const c of this.closers.splice(0)) await c();
    await this.server.close();
  }

  /** Kills every container (the agent is going away). */
  async shutdown(): Promise<void> {
    await this.sandbox.destroy().catch(() => undefined);
    await this.close();
  }
}

/**
 * Runs one trivial child process once the agent serves. The first spawn of a node process costs
 * compiling node's child_process path; done here, a VM saved as a template keeps that work and every
 * clone's first real spawn (mount, crun) is cheaper. Harmless on a cold boot: it runs after ready.
 */
async function warmUpSpawn(log: Logger): Promise<void> {
  const started = Date.now();
  await run('true', []).catch((err: Error) => log.debug({ err: err.message }, 'warm-up spawn failed'));
  log.debug({ ms: Date.now() - started }, 'warm-up spawn');
}
