/**
 * `kata-ts monitor`'s HTTP server (Kata's kata-monitor): every scrape of /metrics scrapes every
 * running sandbox's shim in parallel, each with its own deadline, and answers with the union.
 *   GET /                      what is served here
 *   GET /metrics               all sandboxes' metrics (?filter_family=<prefix>[,<prefix>...])
 *   GET /sandboxes             the sandboxes found, with their CRI pod where there is one (JSON)
 *   GET /agent-url?sandbox=<id>  how that sandbox's shim reaches its agent
 */
import http from 'node:http';
import { MonitorCounters, mergeScrapes, type ShimScrape } from './aggregate';
import type { CriPods } from './cri-pods';
import { findSandboxes, getFromShim } from './shim-scrape';

export interface MonitorOptions {
  /** `<state dir>/sbs`, where each sandbox's shim serves shim-monitor.sock. */
  sbsDir: string;
  cri?: CriPods;
  /** How long one shim may take to answer. */
  scrapeTimeoutMs: number;
  log: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';
const INDEX = 'kata-ts monitor\n\n/metrics    every sandbox\'s metrics (?filter_family=<prefix>)\n/sandboxes  the sandboxes found\n/agent-url?sandbox=<id>\n';

export class MonitorServer {
  private readonly counters = new MonitorCounters();
  private readonly server: http.Server;

  constructor(private readonly options: MonitorOptions) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: Error) => send(res, 500, `${err.message}\n`));
    });
  }

  /** Listens on host:port; resolves with the port actually bound (port 0 picks one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://monitor');
    if (req.method !== 'GET') return send(res, 405, 'only GET\n');
    switch (url.pathname) {
      case '/':
        return send(res, 200, INDEX);
      case '/metrics': {
        const filter = url.searchParams.getAll('filter_family').flatMap((v) => v.split(',')).filter(Boolean);
        return send(res, 200, await this.metrics(filter), TEXT_FORMAT);
      }
      case '/sandboxes':
        return this.sandboxes(res);
      case '/agent-url':
        return this.agentUrl(url.searchParams.get('sandbox') ?? '', res);
      default:
        return send(res, 404, `no ${url.pathname} here\n${INDEX}`);
    }
  }

  private async metrics(filter: string[]): Promise<string> {
    const sandboxes = findSandboxes(this.options.sbsDir);
    await this.options.cri?.refresh();
    const results = await Promise.all(sandboxes.map(async ({ id, socket }): Promise<ShimScrape> => {
      const started = performance.now();
      const pod = this.options.cri?.get(id);
      try {
        const text = await getFromShim(socket, '/metrics', this.options.scrapeTimeoutMs);
        return { sandboxId: id, text, ms: performance.now() - started, pod };
      } catch (err) {
        this.options.log('warn', 'shim scrape failed', { sandboxId: id, err: (err as Error).message });
        return { sandboxId: id, error: (err as Error).message, ms: performance.now() - started, pod };
      }
    }));
    for (const r of results) this.counters.record(r);
    return mergeScrapes(results, this.counters.families(results), filter);
  }

  private async sandboxes(res: http.ServerResponse): Promise<void> {
    await this.options.cri?.refresh();
    const list = findSandboxes(this.options.sbsDir).map(({ id }) => ({ id, ...(this.options.cri?.get(id) ? { cri: this.options.cri.get(id) } : {}) }));
    send(res, 200, `${JSON.stringify(list, null, 2)}\n`, 'application/json');
  }

  private async agentUrl(id: string, res: http.ServerResponse): Promise<void> {
    const found = findSandboxes(this.options.sbsDir).find((s) => s.id === id);
    if (!found) return send(res, 404, id ? `no running sandbox ${JSON.stringify(id)}\n` : 'name one: /agent-url?sandbox=<id>\n');
    try {
      send(res, 200, await getFromShim(found.socket, '/agent-url', this.options.scrapeTimeoutMs));
    } catch (err) {
      send(res, 502, `sandbox ${id}: ${(err as Error).message}\n`);
    }
  }
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
