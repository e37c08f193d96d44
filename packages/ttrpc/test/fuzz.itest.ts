/**
 * Fuzzes a ttrpc-ts server with malformed traffic (cases in fuzz-cases.ts) and checks that it neither
 * crashes nor grows, that it answers what the protocol says it must, and that well-formed calls after
 * the garbage still work, on the same connection where the framing survived and always on a fresh one.
 *
 * The server runs in a child process (echo-server-main.ts) so that a crash is a dead process and its
 * memory is its own: VmHWM in /proc/<pid>/status is the peak RSS over the whole run.
 *
 * Reproduce a run with FUZZ_SEED=<seed printed at the start>; FUZZ_FRAMES raises the frame count;
 * FUZZ_ONLY=huge-names,deadlines draws only those cases (names in fuzz-cases.ts CASES).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Code, FrameReader, MessageType, codeName, createServiceClient } from 'ttrpc-ts';
import { EchoService, ttrpctest } from './echo-service';
import { Batch, Junk, Rng, echoRequest, pickCase, streamFlood } from './fuzz-cases';
import { RawConnection, Response } from './raw-connection';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 0x7fffffff);
const MIN_FRAMES = Number(process.env.FUZZ_FRAMES ?? 10_000);
const ONLY = process.env.FUZZ_ONLY?.split(',').filter(Boolean);
/**
 * Peak RSS the server may reach. It idles near 60 MiB (tsx included); 4,096 parked calls on one connection
 * plus 4 MiB frames on the others take it to about 150 MiB.
 */
const RSS_LIMIT_MIB = 200;
/** Batches in flight at once, each on its own connection. */
const WORKERS = 4;
/** The batch that floods one connection with more streams than it may hold. */
const FLOOD_BATCH = 3;
const ANSWER_MS = 5000;
/** How long a probe stuck behind a swallowing length waits before the client hangs up. */
const POISONED_PROBE_MS = 200;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) / 1024 : 0;
}

async function startServer(socketPath: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const main = path.join(__dirname, 'echo-server-main.ts');
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), main, socketPath], {
    cwd: path.resolve(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
  });
  return { child, stderr: () => stderr };
}

/** A well-formed call on a fresh connection, bounded in time. Returns an error text or null. */
async function freshCall(socketPath: string, text: string): Promise<string | null> {
  let client: Client | undefined;
  try {
    client = await Client.connect(socketPath, { timeoutMs: ANSWER_MS });
    const res = await createServiceClient(client, EchoService).echo({ text }, { timeoutMs: ANSWER_MS });
    return res.text === text ? null : `fresh call answered ${JSON.stringify(res.text)}`;
  } catch (err) {
    return `fresh call failed: ${String(err)}`;
  } finally {
    client?.close();
  }
}

function describeCodes(responses: Response[]): string {
  return JSON.stringify(responses.map((r) => codeName(r.status?.code ?? Code.OK)));
}

/** Writes the frames, some of them split in pieces so the server's reassembly is exercised too. */
function writeFrames(conn: RawConnection, frames: Uint8Array[], rng: Rng): void {
  for (const f of frames) {
    if (f.length > 1 && rng.chance(0.2)) {
      const cut = rng.int(1, f.length - 1);
      conn.write(f.subarray(0, cut));
      conn.write(f.subarray(cut));
    } else {
      conn.write(f);
    }
  }
}

/** Frames the batch sent per stream id that may each draw a Response (Request, Data). */
function responseBudget(frames: Uint8Array[]): Map<number, number> {
  const budget = new Map<number, number>();
  const reader = new FrameReader();
  for (const f of frames) {
    let events;
    try {
      events = reader.push(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    } catch {
      return budget; // a header over the limit: the server closes the connection there
    }
    for (const { frame: h } of events) {
      if (h.type === MessageType.Request || h.type === MessageType.Data) budget.set(h.streamId, (budget.get(h.streamId) ?? 0) + 1);
    }
  }
  return budget;
}

/** Runs one batch on its own connection and returns what went wrong (empty when nothing did). */
async function runBatch(socketPath: string, b: Batch, rng: Rng): Promise<string[]> {
  const problems: string[] = [];
  const conn = await RawConnection.open(socketPath, ANSWER_MS);
  try {
    writeFrames(conn, b.frames, rng);
    if (b.endAfter) {
      conn.end();
      if ((await conn.until(() => false, ANSWER_MS)) !== 'closed') problems.push('server kept a half-closed connection open');
      return problems;
    }
    const probeText = `probe ${b.probeId}`;
    conn.write(echoRequest(b.probeId, probeText));
    const got = await conn.until(() => conn.responseCount(b.probeId) > 0, b.poisons ? POISONED_PROBE_MS : ANSWER_MS);
    if (got === 'timeout') {
      if (!b.poisons) problems.push('no answer to a well-formed call on the same connection');
      // Whatever the server is waiting for will never come: it must close once we hang up.
      conn.end();
      if ((await conn.until(() => false, ANSWER_MS)) !== 'closed') problems.push('server kept a half-closed connection open');
    } else if (got === 'closed') {
      if (!b.poisons) problems.push('server closed a connection whose framing was intact');
    } else if (!b.poisons) {
      const res = conn.responses.get(b.probeId)![0]!;
      const code = res.status?.code ?? Code.OK;
      if (code === Code.OK) {
        const text = ttrpctest.EchoResponse.decode(res.payload).text;
        if (text !== probeText) problems.push(`same-connection call answered ${JSON.stringify(text)}`);
      } else if (!b.probeMayFail?.includes(code)) {
        problems.push(`same-connection call failed: ${codeName(code)} ${res.status?.message}`);
      }
    }
    if (!b.poisons && !conn.closed) problems.push(...(await checkExpectations(conn, b)));
    problems.push(...conn.malformed);
  } finally {
    conn.destroy();
  }
  return problems;
}

async function checkExpectations(conn: RawConnection, b: Batch): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map<number, { codes: Code[]; anyOf?: Code[] }>();
  for (const e of b.expectations) {
    const prev = expected.get(e.id);
    expected.set(e.id, { codes: [...(prev?.codes ?? []), ...e.codes], anyOf: e.anyOf ?? prev?.anyOf });
  }
  // Answers that come from handlers (sleeps, streams) may still be on their way.
  await conn.until(() => [...expected].every(([id, e]) => conn.responseCount(id) >= e.codes.length), ANSWER_MS);
  for (const [id, e] of expected) {
    const responses = conn.responses.get(id) ?? [];
    const codes = responses.map((r) => r.status?.code ?? Code.OK);
    const ok = e.anyOf
      ? codes.length === e.codes.length && codes.every((c) => e.anyOf!.includes(c))
      : JSON.stringify([...codes].sort()) === JSON.stringify([...e.codes].sort());
    if (!ok) {
      const want = e.anyOf ? `${e.codes.length} of ${JSON.stringify(e.anyOf.map(codeName))}` : JSON.stringify(e.codes.map(codeName));
      problems.push(`stream ${id}: expected ${want}, got ${describeCodes(responses)} ${responses.map((r) => r.status?.message ?? '').join(' | ').slice(0, 200)}`);
    }
  }
  if (b.checkBudget) {
    const budget = responseBudget(b.frames);
    budget.set(b.probeId, (budget.get(b.probeId) ?? 0) + 1);
    for (const [id, list] of conn.responses) {
      if (list.length > (budget.get(id) ?? 0)) problems.push(`stream ${id}: ${list.length} Responses for ${budget.get(id) ?? 0} frames sent`);
    }
  }
  return problems;
}

describe('ttrpc server under malformed traffic', () => {
  let dir: string;
  let server: { child: ChildProcess; stderr: () => string };
  let socketPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ttrpc-fuzz-'));
    socketPath = path.join(dir, 'echo.sock');
    server = await startServer(socketPath);
  }, 60_000);

  afterAll(async () => {
    const { child } = server;
    if (child.exitCode === null && child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it(`survives at least ${MIN_FRAMES} malformed frames and keeps answering (seed ${SEED})`, async () => {
    console.log(`ttrpc fuzz: FUZZ_SEED=${SEED}`);
    const pid = server.child.pid!;
    const junk = new Junk(new Rng(SEED));
    const started = Date.now();
    let framesSent = 0;
    let batches = 0;
    let peakSampled = 0;
    const failures: string[] = [];
    const perCategory = new Map<string, number>();
    const sampler = setInterval(() => {
      if (server.child.exitCode === null) peakSampled = Math.max(peakSampled, procStatus(pid, 'VmRSS'));
    }, 20);

    const worker = async () => {
      const flood = !ONLY || ONLY.includes('stream-flood');
      while ((framesSent < MIN_FRAMES || (flood && batches <= FLOOD_BATCH)) && failures.length < 20 && server.child.exitCode === null) {
        const index = batches++;
        // Each batch has its own generator, so one batch reproduces whatever ran beside it.
        const rng = new Rng((SEED + Math.imul(index + 1, 0x9e3779b1)) >>> 0);
        const b = flood && index === FLOOD_BATCH ? streamFlood(rng, junk) : pickCase(rng, ONLY)(rng, junk);
        framesSent += b.frames.length;
        perCategory.set(b.category, (perCategory.get(b.category) ?? 0) + 1);
        const problems = await runBatch(socketPath, b, rng).catch((err: Error) => [`batch threw: ${err.stack}`]);
        const fresh = await freshCall(socketPath, `fresh ${index}`);
        if (fresh) problems.push(fresh);
        for (const p of problems) failures.push(`batch ${index} (${b.category}): ${p}`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    clearInterval(sampler);

    const alive = server.child.exitCode === null && server.child.signalCode === null;
    const peak = alive ? procStatus(pid, 'VmHWM') : peakSampled;
    const finalCall = alive ? await freshCall(socketPath, 'final') : 'server is dead';
    console.log(
      `ttrpc fuzz: seed ${SEED}, ${framesSent} frames in ${batches} batches, ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
        `peak RSS ${peak.toFixed(0)} MiB (limit ${RSS_LIMIT_MIB}), ${failures.length} failures\n` +
        [...perCategory].sort().map(([c, n]) => `  ${c}: ${n}`).join('\n') +
        (server.stderr() ? `\nserver stderr (exit ${server.child.exitCode ?? server.child.signalCode ?? 'none'}):\n${server.stderr().slice(0, 4000)}` : ''),
    );

    expect(failures).toEqual([]);
    // A warning (e.g. TimeoutOverflowWarning) or a crash trace on stderr is a failure too.
    expect({ alive, stderr: server.stderr() }).toEqual({ alive: true, stderr: '' });
    expect(framesSent).toBeGreaterThanOrEqual(MIN_FRAMES);
    expect(peak).toBeLessThan(RSS_LIMIT_MIB);
    expect(finalCall).toBeNull();
  }, 180_000);
});
