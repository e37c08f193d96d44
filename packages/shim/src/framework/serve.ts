/**
 * Serve mode: the long-lived shim daemon. Serves the Task service (and the Sandbox service when the
 * runtime has one) on the listener inherited as fd 3 (or on -socket), publishes events, and exits
 * after Shutdown or SIGTERM/SIGINT, removing its socket.
 */
import net from 'node:net';
import { Server } from 'ttrpc-ts';
import { SandboxService, TaskService, TaskServiceV3 } from '@kata-ts/protocol/containerd';
import type { ShimFlags } from './flags';
import type { ShimManager, ShimService } from './manager';
import { createLogger, flushLogger, type Logger } from './logging';
import { sameUserOnly } from './peer-check';
import { createPublisher } from './publisher';
import { removeSocket } from './socket';
import { SHIM_ADDRESS_ENV, runtimeOptionsFromEnv } from './start';
import { shimRpcDurations } from '../metrics/rpc-durations';

/** Opens the listener: fd 3 from `start`, or the -socket path. */
async function openListener(flags: ShimFlags): Promise<net.Server> {
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    const done = () => {
      listener.off('error', reject);
      resolve();
    };
    if (flags.socket) listener.listen(flags.socket.replace(/^unix:\/\//, ''), done);
    else listener.listen({ fd: 3 }, done);
  });
  return listener;
}

/** Runs the daemon until it is asked to exit; resolves with the exit code. */
export async function serveShim(manager: ShimManager, flags: ShimFlags): Promise<number> {
  const log = createLogger({ level: flags.debug ? 'debug' : 'info', base: { runtime: manager.name, ns: flags.namespace, id: flags.id, pid: process.pid } });
  const publisher = createPublisher(process.env.TTRPC_ADDRESS, flags.namespace, log.child({ subsystem: 'publisher' }));
  let requestExit!: () => void;
  const exitRequested = new Promise<void>((resolve) => (requestExit = resolve));
  let exitCode = 0;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, 'signal received, shutting down');
      requestExit();
    });
  }
  process.on('SIGPIPE', () => undefined);
  // A bug must not leave a half-working shim: stop the VM and exit; containerd then runs `delete`.
  process.on('uncaughtException', (err) => {
    log.fatal({ err: err.stack ?? err.message }, 'uncaught exception, shutting down');
    exitCode = 1;
    requestExit();
  });
  process.on('unhandledRejection', (err) => log.error({ err: (err as Error)?.stack ?? String(err) }, 'unhandled rejection'));

  let service: ShimService | undefined;
  let server: Server | undefined;
  try {
    service = await manager.createService({ flags, log, publisher, requestExit, runtimeOptions: runtimeOptionsFromEnv() });
    server = new Server({
      onError: (err) => log.warn({ err: err.message }, 'ttrpc server error'),
      toStatus: service.toStatus,
      accept: sameUserOnly(log.child({ subsystem: 'server' })),
      onCallEnd: (ctx, ms, code) => {
        shimRpcDurations.observe(ctx.method, ms);
        logCall(log, ctx.service, ctx.method, ms, code);
      },
    });
    // containerd 2.x speaks v3 to shims that said so at start (bootstrap protocol), v2 to the rest.
    server.register(TaskService, service.task);
    server.register(TaskServiceV3, service.task);
    if (service.sandbox) server.register(SandboxService, service.sandbox);
    await server.listenOn(await openListener(flags));
    log.info({ address: process.env[SHIM_ADDRESS_ENV] }, 'shim serving');
    await exitRequested;
    return exitCode;
  } catch (err) {
    log.fatal({ err: (err as Error).stack ?? String(err) }, 'shim failed');
    return 1;
  } finally {
    await shutdown(log, service, server, () => publisher.close());
  }
}

/** How long calls in flight at exit may take to send their replies. */
const REPLY_GRACE_MS = 2_000;

/** Lifecycle calls, logged with their duration at info: where a pod's start and stop spend their time. */
const LIFECYCLE_RPCS = new Set(['Create', 'Start', 'Delete', 'Shutdown', 'CreateSandbox', 'StartSandbox', 'StopSandbox', 'ShutdownSandbox']);

function logCall(log: Logger, service: string, method: string, ms: number, code: number): void {
  const fields = { rpc: `${service}/${method}`, ms: Math.round(ms), code };
  if (LIFECYCLE_RPCS.has(method)) log.info(fields, 'rpc done');
  else log.debug(fields, 'rpc done');
}

async function shutdown(log: Logger, service: ShimService | undefined, server: Server | undefined, closePublisher: () => Promise<void>): Promise<void> {
  try {
    await service?.close();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'closing the task service failed');
  }
  log.debug('task service closed');
  await closePublisher();
  log.debug('publisher closed');
  // The call that asked to exit (Shutdown, ShutdownSandbox) still gets its reply.
  await server?.shutdown(REPLY_GRACE_MS);
  log.debug('server closed');
  await removeSocket(process.env[SHIM_ADDRESS_ENV] ?? '').catch(() => undefined);
  log.info('shim exiting');
  await flushLogger(log);
}
