import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseExposition } from '@kata-ts/protocol/metrics';
import type { CriPods } from './cri-pods';
import { MonitorServer } from './monitor-server';
import { MONITOR_SOCKET } from './shim-scrape';
import { parseListenAddress } from '../commands/monitor';

/** A stand-in shim: serves /metrics and /agent-url on <sbs>/<id>/shim-monitor.sock as told. */
async function fakeShim(sbs: string, id: string, handler: http.RequestListener): Promise<http.Server> {
  mkdirSync(path.join(sbs, id), { recursive: true });
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(path.join(sbs, id, MONITOR_SOCKET), resolve));
  return server;
}

const shimText = (id: string, threads: number) =>
  `# HELP kata_shim_threads Threads\n# TYPE kata_shim_threads gauge\nkata_shim_threads{sandbox_id="${id}"} ${threads}\n` +
  `# HELP kata_guest_load Load\n# TYPE kata_guest_load gauge\nkata_guest_load{sandbox_id="${id}",item="load1"} 0.5\n`;

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('kata-ts monitor', () => {
  let dir: string;
  let sbs: string;
  const servers: http.Server[] = [];
  let monitor: MonitorServer;
  let port: number;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kata-monitor-'));
    sbs = path.join(dir, 'sbs');
    servers.push(await fakeShim(sbs, 'aaa', (req, res) => res.end(req.url === '/agent-url' ? 'virtio-serial:///a.sock\n' : shimText('aaa', 7))));
    servers.push(await fakeShim(sbs, 'bbb', (_req, res) => res.end(shimText('bbb', 9))));
    // A dying shim: accepts, never answers.
    servers.push(await fakeShim(sbs, 'ccc', () => undefined));
    mkdirSync(path.join(sbs, 'no-socket'));
    const cri = { refresh: async () => undefined, get: (id: string) => (id === 'bbb' ? { name: 'web', namespace: 'prod', uid: 'u-1' } : undefined) };
    monitor = new MonitorServer({ sbsDir: sbs, cri: cri as unknown as CriPods, scrapeTimeoutMs: 300, log: () => undefined });
    port = await monitor.listen('127.0.0.1', 0);
  });

  afterEach(async () => {
    await monitor.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the union of every shim, one family each, with CRI labels; a shim that does not answer costs only its own', async () => {
    const started = Date.now();
    const res = await get(port, '/metrics');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.status).toBe(200);
    expect(res.body.match(/^# TYPE kata_shim_threads /gm)).toHaveLength(1);
    const { families, dropped } = parseExposition(res.body);
    expect(dropped).toBe(0);
    const f = (name: string) => families.find((x) => x.name === name)!;
    expect(f('kata_shim_threads').samples.map((s) => [s.labels, s.value])).toEqual([
      [{ sandbox_id: 'aaa' }, 7],
      [{ sandbox_id: 'bbb', cri_uid: 'u-1', cri_name: 'web', cri_namespace: 'prod' }, 9],
    ]);
    expect(f('kata_monitor_running_shim_count').samples[0]!.value).toBe(3);
    expect(Object.fromEntries(f('kata_monitor_sandbox_up').samples.map((s) => [s.labels.sandbox_id, s.value]))).toEqual({ aaa: 1, bbb: 1, ccc: 0 });
    expect(f('kata_monitor_scrape_failed_count').samples[0]!.value).toBe(1);
  });

  it('filters families, lists sandboxes, and answers agent-url or a clear 404', async () => {
    const filtered = parseExposition((await get(port, '/metrics?filter_family=kata_guest_')).body).families;
    expect(filtered.map((f) => f.name)).toEqual(['kata_guest_load']);
    const list = JSON.parse((await get(port, '/sandboxes')).body) as Array<{ id: string; cri?: { name: string } }>;
    expect(list.map((s) => s.id)).toEqual(['aaa', 'bbb', 'ccc']);
    expect(list[1]!.cri?.name).toBe('web');
    expect(await get(port, '/agent-url?sandbox=aaa')).toEqual({ status: 200, body: 'virtio-serial:///a.sock\n' });
    expect(await get(port, '/agent-url?sandbox=nope')).toEqual({ status: 404, body: 'no running sandbox "nope"\n' });
    expect((await get(port, '/agent-url?sandbox=ccc')).status).toBe(502);
    expect((await get(port, '/elsewhere')).status).toBe(404);
  });

  it('reads listen addresses as kata-monitor does', () => {
    expect(parseListenAddress('127.0.0.1:8090')).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(parseListenAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseListenAddress(':8090')).toEqual({ host: '0.0.0.0', port: 8090 });
    expect(parseListenAddress('8090')).toBeUndefined();
    expect(parseListenAddress('host:99999')).toBeUndefined();
  });
});
