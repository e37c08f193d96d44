/**
 * A sandbox's monitor endpoint, `<sandbox dir>/shim-monitor.sock`: HTTP over a unix socket, as Kata's
 * shim serves it (clients use http://shim/...). `kata-ts monitor` finds every sandbox's socket and
 * scrapes it; an operator can too (`curl --unix-socket <sock> http://shim/metrics`).
 *   GET /metrics    Prometheus text (SandboxMetrics)
 *   GET /agent-url  how the shim reaches the agent, e.g. virtio-serial:///run/.../agent.sock
 */
import http from 'node:http';
import path from 'node:path';
import type { Logger } from '../framework/logging';
import { sameUserOnly } from '../framework/peer-check';
import type { SandboxMetrics } from './sandbox-metrics';

export const MONITOR_SOCKET = 'shim-monitor.sock';

const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

export interface MonitorSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Serves the monitor endpoint in `sandboxDir` until close(). */
export async function serveMonitor(sandboxDir: string, metrics: SandboxMetrics, agentUrl: string, log: Logger): Promise<MonitorSocket> {
  const socketPath = path.join(sandboxDir, MONITOR_SOCKET);
  const accept = sameUserOnly(log);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://shim');
    if (req.method !== 'GET') return reply(res, 405, 'only GET\n');
    if (url.pathname === '/metrics') {
      metrics.collect().then(
        (text) => reply(res, 200, text, TEXT_FORMAT),
        (err: Error) => {
          log.warn({ err: err.message }, 'metrics scrape failed');
          reply(res, 500, `metrics: ${err.message}\n`);
        },
      );
      return undefined;
    }
    if (url.pathname === '/agent-url') return reply(res, 200, `${agentUrl}\n`);
    return reply(res, 404, `no ${url.pathname} here: /metrics, /agent-url\n`);
  });
  server.on('connection', (socket) => {
    if (!accept(socket)) socket.destroy();
  });
  // A scraper that stops reading must not pin the shim's memory or sockets.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    path: socketPath,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
