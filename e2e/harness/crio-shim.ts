/**
 * CRI-O's side of the shim v2 protocol, as cri-o's internal/oci/runtime_vm.go drives a
 * `runtime_type = "vm"` handler: CRI-O itself is not packaged in Debian 12, so a test plays its part.
 *
 *   start: `<shim> -namespace default -address "" -publish-binary <crio> -id <id> [-debug] start`, cwd =
 *          the bundle, environment + GOMAXPROCS=2 MAX_SHIM_VERSION=2 TTRPC_ADDRESS= GRPC_ADDRESS=
 *          NAMESPACE=default, no stdin; the `log` fifo is created O_RDONLY|O_CREAT|O_NONBLOCK in the
 *          bundle beforehand and drained; only stdout is parsed (JSON with version 2, or the raw
 *          address), stderr is kept apart.
 *   ttrpc: namespace `default` in containerd-namespace-ttrpc; Create with a deadline.
 *   stdio: FIFOs made by the caller under <runtime_root>/crio/fifo/<random>/<id>-stdout|-stderr,
 *          opened O_RDONLY|O_NONBLOCK before Create.
 * Plus the containers/storage side: an image unpacked once, and per container an overlay mounted
 * before Create whose merged directory becomes the spec's root.path (CRI-O sends no rootfs mounts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { runOk } from './exec';

/** What `start` printed and how it behaved. */
export interface ShimStartResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The address as CRI-O's ParseShimAddress reads stdout. */
  address: string;
  ms: number;
}

export interface ShimStartOptions {
  shim: string;
  bundle: string;
  id: string;
  /** CRI-O passes its own executable; the shim must never run it. */
  publishBinary: string;
  debug?: boolean;
  timeoutMs?: number;
}

/** cri-o's ParseShimAddress: JSON with version ≥ 2 gives `address` (version > 2 is an error); anything else is the trimmed text. */
export function parseShimAddress(out: string): string {
  let params: { version?: number; address?: string } | undefined;
  try {
    params = JSON.parse(out) as { version?: number; address?: string };
  } catch {
    params = undefined;
  }
  if (!params || typeof params !== 'object' || typeof params.version !== 'number' || params.version < 2) return out.trim();
  if (params.version > 2) throw new Error(`unsupported shim version (${params.version})`);
  return params.address ?? '';
}

/** A FIFO read from CRI-O's side: created and opened O_RDONLY|O_NONBLOCK, read once the shim holds its end. */
export class FifoReader {
  private fd: number | undefined;
  private sock: net.Socket | undefined;
  private readonly chunks: Buffer[] = [];
  private ended: Promise<void> | undefined;

  private constructor(readonly path: string) {}

  static async create(file: string): Promise<FifoReader> {
    await runOk('mkfifo', ['-m', '0700', file]);
    const r = new FifoReader(file);
    r.fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    return r;
  }

  /**
   * Starts reading. Call it once a writer holds the FIFO (after Start): reading a FIFO that has no
   * writer yet returns EOF at once. Bytes written meanwhile wait in the pipe, since our end stays open.
   */
  attach(): void {
    if (this.sock || this.fd === undefined) return;
    const sock = new net.Socket({ fd: this.fd, readable: true, writable: false });
    this.fd = undefined;
    this.sock = sock;
    sock.on('data', (d: Buffer) => this.chunks.push(d));
    this.ended = new Promise((resolve) => {
      sock.once('end', () => resolve());
      sock.once('close', () => resolve());
      sock.once('error', () => resolve());
    });
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Resolves true when every writer has closed the FIFO (EOF), false after `ms`. */
  async waitEof(ms: number): Promise<boolean> {
    this.attach();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([this.ended!.then(() => true), timedOut]);
    clearTimeout(timer);
    return ok;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.sock?.destroy();
  }
}

/** stdout/stderr FIFOs of one process, as containerd's cio.NewFIFOSetInDir (used by CRI-O) lays them out. */
export class FifoSet {
  private constructor(readonly dir: string, readonly stdout: FifoReader, readonly stderr: FifoReader) {}

  /** `<fifoRoot>/<random>/<id>-stdout` and `-stderr`; no stdin (the pod's containers run without one). */
  static async create(fifoRoot: string, id: string): Promise<FifoSet> {
    const dir = path.join(fifoRoot, randomBytes(16).toString('hex'));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new FifoSet(dir, await FifoReader.create(path.join(dir, `${id}-stdout`)), await FifoReader.create(path.join(dir, `${id}-stderr`)));
  }

  attach(): void {
    this.stdout.attach();
    this.stderr.attach();
  }

  /** Closes both ends and removes the directory (CRI-O removes its FIFOs with the container). */
  async remove(): Promise<void> {
    this.stdout.close();
    this.stderr.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The shim's `log` fifo, created and drained as CRI-O does (it copies it to its own stderr). */
export class ShimLog {
  private constructor(private readonly reader: FifoReader) {}

  static async create(bundle: string): Promise<ShimLog> {
    const reader = await FifoReader.create(path.join(bundle, 'log'));
    return new ShimLog(reader);
  }

  /** Starts draining (once the shim daemon holds the fifo). */
  drain(): void {
    this.reader.attach();
  }

  get text(): string {
    return this.reader.text;
  }

  waitEof(ms: number): Promise<boolean> {
    return this.reader.waitEof(ms);
  }

  close(): void {
    this.reader.close();
  }
}

/** Runs `<shim> ... start` exactly as CRI-O's startRuntimeDaemon does and parses stdout. */
export function startShimLikeCrio(o: ShimStartOptions): Promise<ShimStartResult> {
  const args = ['-namespace', 'default', '-address', '', '-publish-binary', o.publishBinary, '-id', o.id, ...(o.debug ? ['-debug'] : []), 'start'];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOMAXPROCS: '2',
    MAX_SHIM_VERSION: '2',
    TTRPC_ADDRESS: '',
    GRPC_ADDRESS: '',
    NAMESPACE: 'default',
  };
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    // Go's Setpgid has no Node equivalent; `detached` (setsid) also gives the child a group of its own.
    const child = spawn(o.shim, args, { cwd: o.bundle, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // Like exec.Cmd.Output(), this waits for stdout and stderr to close: a daemon inheriting them would hang here.
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      try {
        resolve({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), address: parseShimAddress(stdout), ms: Date.now() - t0 });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/** The filesystem path of a shim address, as containerd's AnonDialer dials it. */
export function addressPath(address: string): string {
  return address.replace(/^unix:\/\//, '');
}

/** Reads `<bundle>/address`, as CRI-O does to reconnect after a restart. */
export async function readAddressFile(bundle: string): Promise<string> {
  return (await readFile(path.join(bundle, 'address'), 'utf8')).trim();
}

/** Unpacks the single-manifest OCI layout tarball `tarPath` into `rootfs` (layers in order). */
export async function unpackOciLayout(tarPath: string, work: string, rootfs: string): Promise<void> {
  const layout = path.join(work, 'layout');
  await mkdir(layout, { recursive: true });
  await mkdir(rootfs, { recursive: true });
  await runOk('tar', ['-xf', tarPath, '-C', layout]);
  const blob = (digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { layers: Array<{ digest: string; mediaType: string }> };
  for (const layer of manifest.layers) {
    const gz = layer.mediaType.endsWith('gzip');
    await runOk('tar', [gz ? '-xzf' : '-xf', blob(layer.digest), '-C', rootfs, '--numeric-owner']);
  }
  await rm(layout, { recursive: true, force: true });
}

/** containers/storage's overlay for one container: `lower` read-only, a writable upper, mounted at `<dir>/merged`. */
export async function mountContainerRootfs(lower: string, dir: string): Promise<string> {
  const merged = path.join(dir, 'merged');
  for (const d of ['diff', 'work', 'merged']) await mkdir(path.join(dir, d), { recursive: true, mode: 0o700 });
  await runOk('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${path.join(dir, 'diff')},workdir=${path.join(dir, 'work')}`, merged]);
  return merged;
}
