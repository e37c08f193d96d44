/**
 * Serves the pool's unix socket (pool-protocol.ts). The socket lives in a 0700 directory: only
 * root (the shims, the CLI) can reach it. A malformed request gets an error reply and the
 * connection stays usable; nothing a client sends can make the server buffer without bound.
 */
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../framework/logging';
import { LineReader, parsePoolRequest, type PoolReply } from './pool-protocol';
import type { VmPool } from './vm-pool';

export async function servePool(pool: VmPool, endpoint: string, log: Logger): Promise<net.Server> {
  await mkdir(path.dirname(endpoint), { recursive: true, mode: 0o700 });
  await rm(endpoint, { force: true });
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    const reply = (r: PoolReply) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
    };
    const reader = new LineReader(
      (line) => {
        const req = parsePoolRequest(line);
        if ('error' in req) return reply({ ok: false, reason: req.error });
        switch (req.op) {
          case 'status':
            return reply({ ok: true, status: pool.status() });
          case 'take': {
            const taken = pool.take(req.sandboxId);
            return reply('reason' in taken ? { ok: false, reason: taken.reason } : { ok: true, vm: taken });
          }
          case 'lease':
            return reply(pool.lease(req.vm, socket) ? { ok: true } : { ok: false, reason: `no handed-over VM ${req.vm}` });
        }
      },
      (err) => {
        reply({ ok: false, reason: err.message });
        socket.end();
      },
    );
    socket.on('data', (chunk: string) => reader.push(chunk));
    socket.on('error', (err) => log.debug({ err: err.message }, 'pool client connection failed'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(endpoint, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return server;
}
