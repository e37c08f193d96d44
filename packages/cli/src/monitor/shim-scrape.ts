/**
 * Finding the running sandboxes (each has `<state dir>/sbs/<id>/shim-monitor.sock`) and reading one
 * shim's monitor endpoint, with a deadline and a size limit: a shim that is slow, dying or
 * confused costs its own sandbox's metrics, never the whole scrape.
 */
import http from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The socket name the shim serves (packages/shim/src/metrics/monitor-socket.ts). */
export const MONITOR_SOCKET = 'shim-monitor.sock';

/** The most a shim's /metrics may send (a healthy one sends some tens of KiB). */
const MAX_BODY_BYTES = 8 << 20;

export interface SandboxEndpoint {
  id: string;
  socket: string;
}

/** Every sandbox under `sbsDir` whose shim serves a monitor socket. */
export function findSandboxes(sbsDir: string): SandboxEndpoint[] {
  let ids: string[];
  try {
    ids = readdirSync(sbsDir);
  } catch {
    return [];
  }
  return ids
    .map((id) => ({ id, socket: path.join(sbsDir, id, MONITOR_SOCKET) }))
    .filter((s) => existsSync(s.socket))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** GETs `urlPath` from a shim's monitor socket; rejects on a status other than 200, a timeout or an oversized body. */
export function getFromShim(socket: string, urlPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: urlPath, host: 'shim', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy(new Error(`reply over ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    // The deadline covers the whole exchange, not only idle gaps.
    const timer = setTimeout(() => req.destroy(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
