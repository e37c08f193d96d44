/**
 * A read-only container registry for the conformance run: the pull side of the OCI distribution API
 * (v2): `GET|HEAD /v2/`, manifests by tag or digest, blobs by digest. It serves the store that
 * build-images.sh writes (blobs/sha256/<hex>, and `tags`: "<repository> <tag> <manifest digest>" lines)
 * and nothing else: no push, no catalog, no auth. Daemons reach it as a mirror (containerd's hosts.toml,
 * CRI-O's registries.conf), so a repository is named by its path without the registry host: both
 * registry.k8s.io/pause and k8s.gcr.io/pause are "pause".
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

/** What the store holds: manifest digests by repository and tag, and where blobs live. */
export interface RegistryStore {
  blobDir: string;
  tags: Map<string, Map<string, string>>;
}

/** Reads a store directory written by build-images.sh. */
export function loadStore(dir: string): RegistryStore {
  const tags = new Map<string, Map<string, string>>();
  for (const line of readFileSync(path.join(dir, 'tags'), 'utf8').split('\n')) {
    const [repo, tag, digest] = line.trim().split(/\s+/);
    if (!repo || !tag || !digest || !DIGEST.test(digest)) continue;
    if (!tags.has(repo)) tags.set(repo, new Map());
    tags.get(repo)!.set(tag, digest);
  }
  return { blobDir: path.join(dir, 'blobs', 'sha256'), tags };
}

type Send = (status: number, headers: Record<string, string | number>, body?: string | { file: string }) => void;

/** Answers one request; `send` writes the response (a HEAD gets the headers only). */
function handle(store: RegistryStore, method: string, url: string, send: Send): void {
  const error = (status: number, code: string, message: string) =>
    send(status, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ code, message }] }));
  if (method !== 'GET' && method !== 'HEAD') return error(405, 'UNSUPPORTED', 'this registry is read-only');
  const pathname = new URL(url, 'http://registry').pathname;
  if (pathname === '/v2/' || pathname === '/v2') return send(200, { 'Content-Type': 'application/json' }, '{}');
  const m = ROUTE.exec(pathname);
  if (!m) return error(404, 'NOT_FOUND', pathname);
  const [, repo = '', kind, ref = ''] = m;
  const tags = store.tags.get(repo);
  if (!tags) return error(404, 'NAME_UNKNOWN', `repository ${repo} is not served here`);
  if (kind === 'manifests') {
    const digest = DIGEST.test(ref) ? ref : tags.get(ref);
    if (!digest || ![...tags.values()].includes(digest)) return error(404, 'MANIFEST_UNKNOWN', `${repo}:${ref}`);
    const file = path.join(store.blobDir, digest.slice('sha256:'.length));
    const body = readFileSync(file, 'utf8');
    const mediaType = (JSON.parse(body) as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
    return send(200, { 'Content-Type': mediaType, 'Docker-Content-Digest': digest, 'Content-Length': Buffer.byteLength(body) }, body);
  }
  if (!DIGEST.test(ref)) return error(400, 'DIGEST_INVALID', ref);
  const file = path.join(store.blobDir, ref.slice('sha256:'.length));
  if (!existsSync(file)) return error(404, 'BLOB_UNKNOWN', ref);
  send(200, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': ref, 'Content-Length': statSync(file).size }, { file });
}

/** Starts the registry on host:port (port 0: any free one); `log` gets one line per request. */
export function startRegistry(store: RegistryStore, host: string, port: number, log: (line: string) => void): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    handle(store, method, req.url ?? '/', (status, headers, body) => {
      log(`${method} ${req.url} ${status}`);
      res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
      if (method === 'HEAD' || body === undefined) res.end();
      else if (typeof body === 'string') res.end(body);
      else createReadStream(body.file).on('error', () => res.destroy()).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** The port a started registry listens on. */
export function registryPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
