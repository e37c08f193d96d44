import type { Duplex } from 'node:stream';
import type { Server } from 'ttrpc-ts';
import type { Logger } from '../logging';

/** The part of node-vsock the agent uses (loaded lazily: the addon may be missing). */
interface VsockModule {
  VsockServer: new () => {
    on(event: 'connection', listener: (socket: Duplex) => void): unknown;
    once(event: 'error', listener: (err: Error) => void): unknown;
    listen(options: { port: number }, callback: () => void): unknown;
    close(): unknown;
  };
}

/**
 * Listens on AF_VSOCK (any CID) with node-vsock, if the addon loads and the kernel has vsock.
 * Returns a closer, or undefined when vsock is not available here (logged, not fatal).
 */
export async function listenVsock(port: number, server: Server, log: Logger): Promise<(() => void) | undefined> {
  let mod: VsockModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('node-vsock') as VsockModule;
  } catch (err) {
    log.info({ err: (err as Error).message }, 'vsock: node-vsock not available');
    return undefined;
  }
  return new Promise((resolve) => {
    try {
      const vs = new mod.VsockServer();
      vs.on('connection', (socket: Duplex) => server.serveConnection(socket));
      vs.once('error', (err: Error) => {
        log.info({ err: err.message, port }, 'vsock: not listening');
        resolve(undefined);
      });
      vs.listen({ port }, () => {
        log.info({ port }, 'listening on vsock');
        resolve(() => vs.close());
      });
    } catch (err) {
      log.info({ err: (err as Error).message, port }, 'vsock: not listening');
      resolve(undefined);
    }
  });
}
