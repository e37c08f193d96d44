/**
 * ttrpc-ts against @grpc/grpc-js over a unix socket, in one run, with the same Echo messages and
 * protobufjs codecs. Each server runs alone in a child process (bench-server.ts); the client is this
 * process. Measures, each repeated --rounds times (default 5, medians printed):
 *   - sequential unary round trips: latency median / p90 / p99 in µs, and calls per second;
 *   - unary throughput with 32 calls in flight;
 *   - server-streaming throughput in 64 KiB chunks, MB/s (10^6 bytes).
 * Then a `ratio` line (ttrpc-ts / grpc-js for unary calls) and, last, one JSON line with everything.
 * Run it with scripts/bench/ttrpc.sh. `--only ttrpc-ts` measures one stack alone (for profiling:
 * NODE_OPTIONS=--cpu-prof profiles this process and the server alike).
 */
import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client, createServiceClient } from 'ttrpc-ts';
import { EchoService, ttrpctest } from '../../packages/ttrpc/test/echo-service';
import { GrpcEchoClient } from './grpc-echo';

const ROUNDS = Number(argValue('--rounds') ?? 5);
const ONLY = argValue('--only');
const SEQUENTIAL_CALLS = Number(argValue('--calls') ?? 5000);
const CONCURRENT_CALLS = 4 * SEQUENTIAL_CALLS;
const IN_FLIGHT = 32;
const CHUNK = 64 * 1024;
const STREAM_CHUNKS = 1024;
/** The targets. */
const TARGET_RATIO = 2;
const TARGET_MEDIAN_US = 100;

/** The same small message for both: a short text and 64 bytes of payload. */
const REQUEST: ttrpctest.IEchoRequest = { text: 'ping', payload: Buffer.alloc(64, 7) };

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** What a benchmark needs from either RPC stack. */
interface Transport {
  name: string;
  unary(): Promise<unknown>;
  /** Streams count chunks of size bytes from the server; resolves with the bytes received. */
  repeat(count: number, size: number): Promise<number>;
  close(): void;
}

async function startServer(kind: 'ttrpc' | 'grpc', socketPath: string): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'bench-server.ts'), [kind, socketPath], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return child;
}

async function ttrpcTransport(socketPath: string): Promise<Transport> {
  const client = await Client.connect(socketPath);
  const echo = createServiceClient(client, EchoService);
  return {
    name: 'ttrpc-ts',
    unary: () => echo.echo(REQUEST),
    async repeat(count, size) {
      let bytes = 0;
      for await (const chunk of echo.repeat({ count, size })) bytes += chunk.data.length;
      return bytes;
    },
    close: () => client.close(),
  };
}

interface GrpcEcho extends grpc.Client {
  Echo(req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
  Repeat(req: unknown): grpc.ClientReadableStream<ttrpctest.Chunk>;
}

async function grpcTransport(socketPath: string): Promise<Transport> {
  const client = new GrpcEchoClient(`unix:${socketPath}`, grpc.credentials.createInsecure()) as unknown as GrpcEcho;
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  return {
    name: 'grpc-js',
    unary: () => new Promise((resolve, reject) => client.Echo(REQUEST, (err, res) => (err ? reject(err) : resolve(res)))),
    async repeat(count, size) {
      let bytes = 0;
      for await (const chunk of client.Repeat({ count, size })) bytes += (chunk as ttrpctest.Chunk).data.length;
      return bytes;
    },
    close: () => client.close(),
  };
}

interface Round {
  medianUs: number;
  p90Us: number;
  p99Us: number;
  sequentialPerSec: number;
  concurrentPerSec: number;
  streamMBps: number;
}

const now = () => Number(process.hrtime.bigint()) / 1000; // µs

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function sequential(t: Transport, calls: number): Promise<Pick<Round, 'medianUs' | 'p90Us' | 'p99Us' | 'sequentialPerSec'>> {
  const samples = new Float64Array(calls);
  const start = now();
  for (let i = 0; i < calls; i++) {
    const t0 = now();
    await t.unary();
    samples[i] = now() - t0;
  }
  const elapsed = now() - start;
  samples.sort();
  return { medianUs: percentile(samples, 0.5), p90Us: percentile(samples, 0.9), p99Us: percentile(samples, 0.99), sequentialPerSec: (calls / elapsed) * 1e6 };
}

async function concurrent(t: Transport, calls: number, inFlight: number): Promise<number> {
  let issued = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued++ < calls) await t.unary();
    }),
  );
  return (calls / (now() - start)) * 1e6;
}

async function streaming(t: Transport): Promise<number> {
  const start = now();
  const bytes = await t.repeat(STREAM_CHUNKS, CHUNK);
  if (bytes !== STREAM_CHUNKS * CHUNK) throw new Error(`${t.name}: streamed ${bytes} bytes`);
  return bytes / (now() - start); // bytes per µs = MB/s
}

async function round(t: Transport): Promise<Round> {
  const seq = await sequential(t, SEQUENTIAL_CALLS);
  const concurrentPerSec = await concurrent(t, CONCURRENT_CALLS, IN_FLIGHT);
  const streamMBps = await streaming(t);
  return { ...seq, concurrentPerSec, streamMBps };
}

function summarize(rounds: Round[]): Round {
  const keys = Object.keys(rounds[0]!) as Array<keyof Round>;
  return Object.fromEntries(keys.map((k) => [k, median(rounds.map((r) => r[k]))])) as unknown as Round;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(name: string, r: Round): void {
  const label = name.padEnd(8);
  console.log(`${label} unary sequential:     ${fmt(r.sequentialPerSec)} round trips/s  (median ${fmt(r.medianUs, 1)} µs, p90 ${fmt(r.p90Us, 1)} µs, p99 ${fmt(r.p99Us, 1)} µs)`);
  console.log(`${label} unary ${IN_FLIGHT} in flight:    ${fmt(r.concurrentPerSec)} calls/s`);
  console.log(`${label} server stream 64 KiB: ${fmt(r.streamMBps)} MB/s`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ttrpc-bench-'));
  const servers: ChildProcess[] = [];
  const transports: Transport[] = [];
  try {
    if (ONLY !== 'grpc-js') {
      servers.push(await startServer('ttrpc', path.join(dir, 'ttrpc.sock')));
      transports.push(await ttrpcTransport(path.join(dir, 'ttrpc.sock')));
    }
    if (ONLY !== 'ttrpc-ts') {
      servers.push(await startServer('grpc', path.join(dir, 'grpc.sock')));
      transports.push(await grpcTransport(path.join(dir, 'grpc.sock')));
    }
    // Other load on the machine skews everything (both stacks alike, since rounds interleave): say how much.
    console.log(`${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(2)} at start`);
    console.log(`node ${process.version}, ${ROUNDS} rounds of ${SEQUENTIAL_CALLS} sequential + ${CONCURRENT_CALLS} concurrent calls + ${STREAM_CHUNKS} x 64 KiB streamed; medians over rounds`);
    for (const t of transports) {
      // Warm-up: let both JITs and connections settle before anything is timed.
      await sequential(t, 2000);
      await concurrent(t, 5000, IN_FLIGHT);
      await streaming(t);
    }
    const rounds = new Map<string, Round[]>(transports.map((t) => [t.name, []]));
    // Interleaved, so drift in the machine's load hits both stacks alike.
    for (let i = 0; i < ROUNDS; i++) for (const t of transports) rounds.get(t.name)!.push(await round(t));
    for (const t of transports) report(t.name, summarize(rounds.get(t.name)!));
    if (transports.length < 2) return;
    const ttrpc = summarize(rounds.get('ttrpc-ts')!);
    const grpcjs = summarize(rounds.get('grpc-js')!);
    const ratio = {
      unarySequential: ttrpc.sequentialPerSec / grpcjs.sequentialPerSec,
      unaryConcurrent: ttrpc.concurrentPerSec / grpcjs.concurrentPerSec,
      streaming: ttrpc.streamMBps / grpcjs.streamMBps,
    };
    console.log(
      `ratio ttrpc-ts/grpc-js unary round trips/s: ${fmt(ratio.unarySequential, 2)} sequential, ${fmt(ratio.unaryConcurrent, 2)} with ${IN_FLIGHT} in flight` +
        ` (streaming ${fmt(ratio.streaming, 2)})`,
    );
    const targets = { ratio: ratio.unarySequential >= TARGET_RATIO, medianRoundTrip: ttrpc.medianUs < TARGET_MEDIAN_US };
    console.log(
      `targets: ratio >= ${TARGET_RATIO} ${targets.ratio ? 'met' : 'MISSED'}; ttrpc-ts median round trip < ${TARGET_MEDIAN_US} µs ${targets.medianRoundTrip ? 'met' : 'MISSED'}`,
    );
    console.log(JSON.stringify({ node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg()[0], rounds: ROUNDS, ttrpc, grpc: grpcjs, ratio, targets }));
  } finally {
    for (const t of transports) t.close();
    for (const s of servers) s.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
