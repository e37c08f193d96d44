/**
 * A sandbox's debug console socket, `<sandbox dir>/debug-console.sock` (kata-ts exec), served only
 * when [agent.kata] debug_console_enabled gave the VM its console port. Each connection is one
 * session: the shim dials the VM's console port (QEMU's socket) and relays bytes both ways unchanged
 * (frames of @kata-ts/protocol/debug-console, which the CLI and the agent check); the relay is
 * streams piped with backpressure, so a side that stops reading holds the other, never memory.
 *
 * A root shell in the guest: only for the shim's own user (peer uid check, 0600 socket in the 0700
 * sandbox directory), one session at a time (the port has one host end), every session logged.
 */
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { promises as fs } from 'node:fs';
import { encodeFrame, FrameType } from '@kata-ts/protocol/debug-console';
import type { Logger } from '../framework/logging';
import { sameUserOnly } from '../framework/peer-check';

export const DEBUG_CONSOLE_SOCKET = 'debug-console.sock';
/** QEMU serves the port's socket from its start: a dial that takes longer finds nothing. */
const DIAL_MS = 5_000;

export interface DebugConsoleSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Serves the console socket in `sandboxDir`; `connectVm` dials the VM's console port. */
export async function serveDebugConsole(sandboxDir: string, connectVm: (timeoutMs: number) => Promise<Duplex | undefined>, log: Logger): Promise<DebugConsoleSocket> {
  const socketPath = path.join(sandboxDir, DEBUG_CONSOLE_SOCKET);
  const accept = sameUserOnly(log);
  const live = new Set<net.Socket>();
  let busy = false;
  let sessions = 0;
  const refuse = (client: net.Socket, message: string): void => {
    client.end(encodeFrame({ type: FrameType.ERROR, message }));
  };

  const server = net.createServer((client) => {
    if (!accept(client)) return void client.destroy();
    client.on('error', () => undefined);
    if (busy) return refuse(client, 'another kata-ts exec session is attached to this sandbox');
    busy = true;
    const session = ++sessions;
    const started = Date.now();
    live.add(client);
    let vm: Duplex | undefined;
    let ended = false;
    /** flush: the client is being ended with a last frame, which must not be cut off. */
    const end = (why: string, flush = false): void => {
      if (ended) return;
      ended = true;
      busy = false;
      live.delete(client);
      vm?.destroy();
      if (!flush) client.destroy();
      log.info({ session, ms: Date.now() - started, why }, 'debug console session closed');
    };
    log.warn({ session }, 'debug console session opened (root shell in the VM)');
    client.once('close', () => end('client left'));
    connectVm(DIAL_MS).then(
      (stream) => {
        if (!stream) {
          refuse(client, 'this VM has no debug console port');
          return end('no console port', true);
        }
        vm = stream;
        if (ended) return void stream.destroy();
        stream.on('error', () => undefined);
        stream.once('close', () => end('VM side closed'));
        client.pipe(stream);
        stream.pipe(client);
      },
      (err: Error) => {
        refuse(client, `cannot reach the VM's console port: ${err.message}`);
        end('dial failed', true);
      },
    );
  });
  await fs.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  await fs.chmod(socketPath, 0o600);
  return {
    path: socketPath,
    close: async () => {
      for (const c of live) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await fs.rm(socketPath, { force: true });
    },
  };
}
