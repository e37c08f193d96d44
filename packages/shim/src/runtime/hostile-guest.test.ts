/**
 * Issue 11, "a hostile guest": the shim's real task runtime, Sandbox, agent client, process IO and
 * ttrpc-ts client against an agent that misbehaves on purpose (HostileAgent, raw frames on the agent
 * channel over a unix socket). Every case checks that the process survives (no unhandled rejection or
 * exception), that what the shim holds stays bounded, what containerd would see for the affected pod,
 * that a second pod (its own runtime and well-behaved agent) is untouched, and whether the VM is stopped.
 */
import { closeSync, constants, openSync, readdirSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import pino from 'pino';
import { Code, MESSAGE_LENGTH_MAX, MessageType, isTtrpcError } from 'ttrpc-ts';
import { TaskEvents } from '@kata-ts/protocol/containerd';
import { OciTypeUrl, packJsonAny } from '@kata-ts/protocol';
import { AgentService } from '@kata-ts/protocol/kata';
import { AGENT_REPLY_MAX_BYTES } from '../agent/agent-client';
import { READ_CHUNK } from '../io/process-io';
import { HostileGuest, responseEnvelope, type HostileGuestOptions } from '../test-support/hostile-agent';
import { TaskHarness } from '../test-support/task-harness';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resolves with the rejection's ttrpc code and message (fails the test if the call succeeds). */
async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: isTtrpcError(err) ? err.code : -1, message: (err as Error).message };
  }
  throw new Error('the call succeeded');
}

const podAnnotations = (type: 'sandbox' | 'container', sandboxId: string) => ({
  annotations: { 'io.kubernetes.cri.container-type': type, 'io.kubernetes.cri.sandbox-id': sandboxId },
});

/** A second pod on the host, with a well-behaved agent and a task running throughout. */
async function otherPod(): Promise<TaskHarness> {
  const h = await TaskHarness.start();
  await h.run('o1', ['sleep']);
  return h;
}

/** The other pod still runs its task and serves a new exec, with its output. */
async function expectUntouched(h: TaskHarness): Promise<void> {
  expect((await h.task.state({ id: 'o1' })).status).toBe(2);
  const out = h.fifo(`o1-exec-${Date.now()}`);
  const collected = h.collect(out);
  await h.task.exec({ id: 'o1', execId: 'oe', stdout: out, spec: packJsonAny(OciTypeUrl.Process, { args: ['echo', 'still', 'here'], cwd: '/' }) });
  await h.task.start({ id: 'o1', execId: 'oe' });
  expect((await h.task.wait({ id: 'o1', execId: 'oe' })).exitStatus).toBe(0);
  expect(await collected).toBe('still here\n');
  await h.task.delete({ id: 'o1', execId: 'oe' });
  expect(h.vms[0]!.stopped).toBe(0);
}

// The shim's process crashing is Jest's to see: an unhandled rejection or uncaught exception in any
// of the code under test fails this suite.
describe('a hostile guest agent', () => {
  // Tens of MiB go through sockets in some cases: room for a loaded (shared, 2-core) machine.
  jest.setTimeout(30_000);
  let guest: HostileGuest;
  let pod: TaskHarness;
  let other: TaskHarness;

  /** The hostile pod (a running sandbox container c1) and the well-behaved one. */
  async function setup(opts: HostileGuestOptions = {}): Promise<void> {
    guest = new HostileGuest(opts);
    pod = await TaskHarness.start({ bootVm: guest.boot });
    other = await otherPod();
    await pod.run('c1', ['sleep'], { extra: podAnnotations('sandbox', 'c1') });
  }

  afterEach(async () => {
    jest.useRealTimers();
    await pod?.close();
    await other?.close();
    await guest?.close();
  });

  /** A response header announcing `length` bytes on `streamId`. */
  const responseHeader = (length: number, streamId: number): Buffer => {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(length, 0);
    header.writeUInt32BE(streamId, 4);
    header[8] = MessageType.Response;
    return header;
  };

  // No conforming peer sends a frame over the limit, and the data of one may never come: skipping it
  // would read the agent's next frames as its data (before the fix, a 4 GiB header swallowed the channel
  // until the health check fired; here, with none, for good). The channel is closed at once instead.
  it.each([
    ['a frame one byte over the 4 MiB limit, with its data', MESSAGE_LENGTH_MAX + 1, true],
    ['a header claiming 4 GiB whose data never comes', 0xffffffff, false],
  ])('1. %s: the agent channel is closed at once, the VM declared dead, every task exits 255, the VM stopped', async (_what, length, withData) => {
    await setup();
    const hostile = guest.agent;
    const exit = pod.task.wait({ id: 'c1' });
    // The agent answers StatsContainer with the oversized frame.
    hostile.hooks.onRequest = (req, a) => {
      if (req.method !== 'StatsContainer') return 'forward';
      hostile.hooks.onRequest = undefined;
      const header = responseHeader(length, req.streamId);
      void a.write(withData ? Buffer.concat([header, Buffer.alloc(length, 0x41)]) : header);
      return 'hold';
    };
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const err = await rpcError(pod.task.stats({ id: 'c1' }));
    expect(err.message).toContain(`ttrpc: frame header announces ${length} bytes on stream`);
    expect((await exit).exitStatus).toBe(255);
    await guest.hypervisor.exited;
    expect(guest.hypervisor.stops).toBe(1);
    expect(guest.sandbox.alive).toBe(false);
    gc();
    // Nothing of the frame is held (a reader that allocated up front would hold 4 GiB, or fail).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    await expectUntouched(other);
  });

  it('2. malformed protobuf in replies: the call fails INTERNAL with the decode error; an unreadable exit status is 255', async () => {
    await setup();
    const hostile = guest.agent;
    // An envelope that is not protobuf at all (a length running past the end).
    hostile.hooks.onReply = (req, data) => (req.method === 'StatsContainer' ? Buffer.from([0x12, 0xff, 0xff, 0x01, 0x00]) : data);
    let err = await rpcError(pod.task.stats({ id: 'c1' }));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toMatch(/^ttrpc: unmarshal response: /);
    // A good envelope around a payload that is not a StatsContainerResponse.
    hostile.hooks.onReply = (req, data) => (req.method === 'StatsContainer' ? responseEnvelope(Buffer.from([0x0a, 0x05, 0x0a, 0xff])) : data);
    err = await rpcError(pod.task.stats({ id: 'c1' }));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toMatch(/^ttrpc: unmarshal payload: /);
    // A Data frame and a frame of an unknown type on a unary call.
    hostile.hooks.onReply = undefined;
    hostile.hooks.onRequest = (req, a) => {
      if (req.method !== 'StatsContainer') return 'forward';
      void a.write(Buffer.concat([Buffer.from([0, 0, 0, 1, ...u32(req.streamId), 0x07, 0]), Buffer.from([0])]));
      void a.write(Buffer.concat([Buffer.from([0, 0, 0, 1, ...u32(req.streamId), MessageType.Data, 0]), Buffer.from([0])]));
      return 'hold';
    };
    err = await rpcError(pod.task.stats({ id: 'c1' }));
    expect(err).toEqual({ code: Code.INTERNAL, message: 'ttrpc: data frame on a unary call' });

    // An exec whose WaitProcess reply cannot be read: its exit is 255, the container runs on.
    hostile.hooks.onRequest = undefined;
    hostile.hooks.onReply = (req, data) => (req.method === 'WaitProcess' ? responseEnvelope(Buffer.from([0x08])) : data);
    await pod.task.exec({ id: 'c1', execId: 'e1', spec: packJsonAny(OciTypeUrl.Process, { args: ['exit', '3'], cwd: '/' }) });
    await pod.task.start({ id: 'c1', execId: 'e1' });
    expect((await pod.task.wait({ id: 'c1', execId: 'e1' })).exitStatus).toBe(255);
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    expect(guest.hypervisor.stops).toBe(0);
    await expectUntouched(other);
  });

  it('2b. well-formed replies that decode to millions of objects are refused undecoded (over 256 KiB: RESOURCE_EXHAUSTED)', async () => {
    await setup();
    // StatsContainerResponse with ~2M empty network_stats entries (field 2): 4 MiB on the wire,
    // 416 MiB of heap and 3.6 s of the event loop once decoded (measured before the limit existed).
    const entries = ((4 << 20) - 64) >> 1;
    const payload = Buffer.alloc(entries * 2);
    for (let i = 0; i < entries; i++) payload[2 * i] = 0x12;
    const envelope = responseEnvelope(payload);
    guest.agent.hooks.onReply = (req, data) => (req.method === 'StatsContainer' ? envelope : data);
    gc();
    const before = process.memoryUsage().heapUsed;
    const err = await rpcError(pod.task.stats({ id: 'c1' }));
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 << 20);
    expect(err).toEqual({ code: Code.RESOURCE_EXHAUSTED, message: `ttrpc: response of ${envelope.length} bytes exceeds this call's limit of ${AGENT_REPLY_MAX_BYTES}` });
    // A failing status with ~2M empty details, the same.
    const details = Buffer.alloc(entries * 2 - 16);
    for (let i = 0; i < details.length; i += 2) details[i] = 0x1a;
    const status = Buffer.concat([Buffer.from([0x08, Code.UNKNOWN]), details]);
    const lengthVarint = [(status.length & 0x7f) | 0x80, ((status.length >>> 7) & 0x7f) | 0x80, status.length >>> 14];
    guest.agent.hooks.onReply = (req, data) => (req.method === 'StatsContainer' ? Buffer.concat([Buffer.from([0x0a, ...lengthVarint]), status]) : data);
    expect((await rpcError(pod.task.stats({ id: 'c1' }))).code).toBe(Code.RESOURCE_EXHAUSTED);
    // Real-sized replies still pass, and the pod runs on.
    guest.agent.hooks.onReply = undefined;
    expect((await pod.task.stats({ id: 'c1' })).stats).toBeDefined();
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    expect(guest.hypervisor.stops).toBe(0);
    await expectUntouched(other);
  });

  it('3. replies to requests never sent (unknown, even, zero, finished stream ids) are dropped, unlogged, and change nothing', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    guest = new HostileGuest({ log });
    pod = await TaskHarness.start({ bootVm: guest.boot, log });
    other = await otherPod();
    // c1 copies its stdin to its stdout.
    const stdin = pod.fifo('c1-stdin');
    const { stdout } = await pod.run('c1', ['cat'], { stdin, extra: podAnnotations('sandbox', 'c1') });
    const hostile = guest.agent;
    // The init's ReadStdout is in flight (the agent holds it while the process runs); replies to any
    // other stream must not end it, nor anything else.
    const read = await hostile.request('ReadStdout');
    const finished = hostile.requests.filter((r) => !hostile.unanswered.has(r.streamId)).map((r) => r.streamId);
    expect(finished.length).toBeGreaterThan(0);
    const forged = responseEnvelope(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63])); // ReadStreamResponse{data: "abc"}
    const ids = [0, 2, 4, 0xfffffffe, 0xffffffff, 0x7fffffff, read.streamId - 1, read.streamId + 1, ...finished];
    const logged = lines.length;
    expect(logged).toBeGreaterThan(0); // the capture works: the create and start were logged
    for (let i = 0; i < 5_000; i++) await hostile.replyRaw(ids[i % ids.length]!, forged);
    // A Data frame on a finished stream too.
    await hostile.write(Buffer.from([0, 0, 0, 2, ...u32(finished[0]!), MessageType.Data, 0, 0x08, 0x2a]));
    // Calls that follow get their own answers (and so come after every forged frame was read).
    expect((await pod.task.stats({ id: 'c1' })).stats).toBeDefined();
    expect(lines.slice(logged)).toEqual([]);
    expect(hostile.unanswered.has(read.streamId)).toBe(true);
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    expect(pod.publisher.topics()).not.toContain('/tasks/exit');
    expect(guest.hypervisor.stops).toBe(0);
    // Its stdout still flows, and holds nothing forged; the agent's real answers end it.
    const fd = openSync(stdin, constants.O_WRONLY);
    writeSync(fd, 'hello\n');
    closeSync(fd);
    await pod.task.closeIO({ id: 'c1', stdin: true });
    expect((await pod.task.wait({ id: 'c1' })).exitStatus).toBe(0);
    expect(await stdout).toBe('hello\n');
    await expectUntouched(other);
  });

  it('4a. a reply that never comes: a call times out at its deadline from timeouts.ts (DEADLINE_EXCEEDED); long polls are asked once and hold one stream each', async () => {
    await setup();
    const hostile = guest.agent;
    hostile.hooks.onRequest = (req) => (req.method === 'PauseContainer' ? 'hold' : 'forward');
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    let settled = false;
    const paused = rpcError(pod.task.pause({ id: 'c1' })).finally(() => (settled = true));
    const req = await hostile.request('PauseContainer');
    expect(req.timeoutNano).toBe(60_000 * 1e6);
    await jest.advanceTimersByTimeAsync(59_999);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await paused).toEqual({ code: Code.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
    // The late answer finds no call; the task was never paused.
    await hostile.reply(req, {});
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);

    // The long polls the agent never answers (an exec's WaitProcess once its output ended; the init's
    // ReadStdout, ReadStderr; GetOOMEvent): an hour later the shim has asked each once, and nothing more.
    hostile.hooks.onRequest = (r, a) => {
      if (r.method !== 'ReadStdout' && r.method !== 'ReadStderr') return r.method === 'WaitProcess' ? 'hold' : 'forward';
      if ((r.message as { containerId: string; execId: string }).execId === 'c1') return 'forward';
      void a.reply(r, { data: new Uint8Array(0) }); // the exec's output ends at once
      return 'hold';
    };
    await pod.task.exec({ id: 'c1', execId: 'e1', spec: packJsonAny(OciTypeUrl.Process, { args: ['sleep'], cwd: '/' }) });
    await pod.task.start({ id: 'c1', execId: 'e1' });
    await hostile.request('WaitProcess');
    // GetOOMEvent asked anew too (under the fake clock, as the others).
    const oomAsked = hostile.count('GetOOMEvent');
    pod.agent.oom('nope');
    await hostile.request('GetOOMEvent', oomAsked + 1);
    const polls = ['WaitProcess', 'ReadStdout', 'ReadStderr', 'GetOOMEvent'];
    const held = () => [...hostile.unanswered.values()].map((r) => r.method).sort();
    const asked = polls.map((m) => hostile.count(m));
    expect(held()).toEqual([...polls].sort());
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(polls.map((m) => hostile.count(m))).toEqual(asked);
    expect(held()).toEqual([...polls].sort());
    expect((await pod.task.state({ id: 'c1', execId: 'e1' })).status).toBe(2);
    jest.useRealTimers();
    await expectUntouched(other);
  });

  it('4b. an agent that stops answering altogether is declared dead by the health check: the task exits 255, the VM is stopped', async () => {
    await setup({ healthCheckInterval: 1, healthCheckTimeout: 3 });
    const hostile = guest.agent;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    hostile.hooks.onRequest = () => 'hold';
    const exit = pod.task.wait({ id: 'c1' });
    const checks = hostile.count('Check');
    await jest.advanceTimersByTimeAsync(1_000);
    const check = await hostile.request('Check', checks + 1);
    expect(check.timeoutNano).toBe(3_000 * 1e6);
    await jest.advanceTimersByTimeAsync(3_000);
    jest.useRealTimers();
    expect((await exit).exitStatus).toBe(255);
    await guest.hypervisor.exited;
    expect(guest.hypervisor.stops).toBe(1);
    expect(guest.sandbox.alive).toBe(false);
    // Every call the agent kept is released, none is reissued.
    expect(hostile.count('DestroySandbox')).toBe(0);
    const err = await rpcError(pod.task.exec({ id: 'c1', execId: 'e1', spec: packJsonAny(OciTypeUrl.Process, { args: ['true'], cwd: '/' }) }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    await expectUntouched(other);
  });

  it.each(['ReadStdout', 'ReadStderr'])('5. an endless %s: reads stop while the host FIFO is not drained (one chunk held), and resume as it drains', async (method) => {
    guest = new HostileGuest();
    pod = await TaskHarness.start({ bootVm: guest.boot });
    other = await otherPod();
    const stream = method === 'ReadStdout' ? 'stdout' : 'stderr';
    // The agent answers every read of c1's stream at once with as much as was asked for.
    let sent = 0;
    const lens = new Set<number>();
    guest.hooks.onRequest = (req, a) => {
      if (req.method !== method) return 'forward';
      const len = (req.message as { len: number }).len;
      lens.add(len);
      sent += len;
      void a.reply(req, { data: Buffer.alloc(len, 0x78) });
      return 'hold';
    };
    const bundle = await pod.bundle('c1', ['sleep'], podAnnotations('sandbox', 'c1'));
    const fifo = pod.fifo(`c1-${stream}`);
    // No reader: the shim's own O_RDWR end keeps the FIFO open, and nobody drains it.
    await pod.task.create({ id: 'c1', bundle, stdout: stream === 'stdout' ? fifo : '', stderr: stream === 'stderr' ? fifo : '', stdin: '' });
    await pod.task.start({ id: 'c1' });
    await guest.agent.request(method, 1);
    // A round trip through the same channel, then a short look: no second read while the pipe is full.
    await pod.task.stats({ id: 'c1' });
    await new Promise((r) => setTimeout(r, 300));
    expect(guest.agent.count(method)).toBeLessThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(2 * READ_CHUNK);

    // A reader drains 16 MiB: reads resume; what the shim has taken beyond what the host got stays within two chunks and a pipe.
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const reader = new net.Socket({ fd, readable: true, writable: false });
    let got = 0;
    let maxAhead = 0;
    await new Promise<void>((resolve) => {
      reader.on('data', (d: Buffer) => {
        got += d.length;
        maxAhead = Math.max(maxAhead, sent - got);
        if (got >= 16 << 20) {
          reader.pause();
          resolve();
        }
      });
    });
    expect(guest.agent.count(method)).toBeGreaterThanOrEqual(16);
    expect([...lens]).toEqual([READ_CHUNK]);
    expect(maxAhead).toBeLessThanOrEqual(2 * READ_CHUNK + (1 << 20));
    reader.destroy();
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    await expectUntouched(other);
  });

  it('6. bogus ids: OOM events for unknown, foreign or path-like ids are ignored; an exit status lands only on the process it was asked for, a status outside 0..255 as 255', async () => {
    await setup();
    const hostile = guest.agent;
    const bogus = ['nope', '', '../../../etc', 'o1', 'c1/../c2', '\u0000', 'x'.repeat(100_000)];
    let n = 1;
    hostile.hooks.onRequest = (req, a) => {
      if (req.method !== 'GetOOMEvent') return 'forward';
      if (n < bogus.length) void a.reply(req, { containerId: bogus[n++] });
      return 'hold';
    };
    // The first answer comes from the agent's pending GetOOMEvent; the shim asks again after each.
    const asked = hostile.count('GetOOMEvent');
    pod.agent.oom(bogus[0]!);
    const last = await hostile.request('GetOOMEvent', asked + bogus.length);
    expect(pod.publisher.topics()).not.toContain('/tasks/oom');
    expect(other.publisher.topics()).not.toContain('/tasks/oom');
    const oomFiles = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((f) => path.basename(f) === 'oom');
    expect(oomFiles(pod.dir)).toEqual([]);
    expect(oomFiles(other.dir)).toEqual([]);
    // c2 joins the pod; the agent ends its output at once and keeps its WaitProcess.
    hostile.hooks.onRequest = (req, a) => {
      const id = (req.message as { containerId?: string } | undefined)?.containerId;
      if (id !== 'c2' || !['ReadStdout', 'ReadStderr', 'WaitProcess'].includes(req.method)) return req.method === 'GetOOMEvent' ? 'hold' : 'forward';
      if (req.method !== 'WaitProcess') void a.reply(req, { data: new Uint8Array(0) });
      return 'hold';
    };
    await pod.run('c2', ['sleep'], { extra: podAnnotations('container', 'c1') });
    // A real OOM is reported for its container only, with its bundle's oom file.
    await hostile.reply(last, { containerId: 'c2' });
    await hostile.request('GetOOMEvent', asked + bogus.length + 1);
    const ooms = pod.publisher.events.filter((e) => e.topic === '/tasks/oom').map((e) => TaskEvents.TaskOOM.codec.decode(e.value).containerId);
    expect(ooms).toEqual(['c2']);
    expect(oomFiles(pod.dir)).toEqual([path.join('bundles', 'c2', 'oom')]);

    // c2's WaitProcess answered with a status no process can have: it lands on c2 alone, as unknown
    // (255; containerd saw 4294967295 before statuses were checked).
    const c2Wait = await hostile.request('WaitProcess', hostile.count('WaitProcess'));
    expect(c2Wait.message).toMatchObject({ containerId: 'c2' });
    await hostile.reply(c2Wait, { status: -1 });
    expect((await pod.task.wait({ id: 'c2' })).exitStatus).toBe(255);
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    expect(pod.publisher.topics().filter((t) => t === '/tasks/exit')).toHaveLength(1);
    expect(guest.hypervisor.stops).toBe(0);
    await expectUntouched(other);
  });

  it('7. an OOM-event flood: every kill is counted, TaskOOM (and <bundle>/oom) goes out at most once a second per container, nothing is logged', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    guest = new HostileGuest({ log });
    pod = await TaskHarness.start({ bootVm: guest.boot, log });
    other = await otherPod();
    await pod.run('c1', ['sleep'], { extra: podAnnotations('sandbox', 'c1') });
    const hostile = guest.agent;
    const FLOOD = 5_000;
    let n = 1;
    hostile.hooks.onRequest = (req, a) => {
      if (req.method !== 'GetOOMEvent') return 'forward';
      if (n < FLOOD) {
        n++;
        void a.reply(req, { containerId: 'c1' });
      }
      return 'hold';
    };
    const asked = hostile.count('GetOOMEvent');
    const logged = lines.length;
    expect(logged).toBeGreaterThan(0); // the capture works: the create and start were logged
    const started = Date.now();
    pod.agent.oom('c1');
    await hostile.request('GetOOMEvent', asked + FLOOD);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const published = pod.publisher.topics().filter((t) => t === '/tasks/oom').length;
    expect(published).toBeGreaterThanOrEqual(1);
    expect(published).toBeLessThanOrEqual(seconds + 1);
    expect(lines.slice(logged)).toEqual([]);
    expect((await pod.runtime.stats('c1')).oomKills).toBe(FLOOD);
    expect((await pod.task.state({ id: 'c1' })).status).toBe(2);
    await expectUntouched(other);
  });

  it('8. GetGuestDetails: the shim never asks for it, and memory hot-plug uses its own 128 MiB block, whatever the guest would say', async () => {
    await setup({ memory: { memoryMiB: 256, maxMemoryMiB: 4096, memorySlots: 4 } });
    const hostile = guest.agent;
    // mem_block_size_bytes = 2^64-1, agent_details with a path for a version and storage handlers.
    const absurd = Buffer.concat([
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      Buffer.from(AgentService.methods.getGuestDetails.responseType.encode({ agentDetails: { version: '../../../etc', storageHandlers: ['/etc/passwd'] } })),
    ]);
    hostile.hooks.onReply = (req, data) => (req.method === 'GetGuestDetails' ? responseEnvelope(absurd) : data);
    // A pod container with a memory limit grows the (dynamically sized) VM, and runs its lifecycle.
    await pod.run('c2', ['exit', '0'], { extra: { ...podAnnotations('container', 'c1'), linux: { resources: { memory: { limit: 300 << 20 } } } } });
    expect((await pod.task.wait({ id: 'c2' })).exitStatus).toBe(0);
    await pod.task.delete({ id: 'c2' });
    expect(guest.hypervisor.added.length).toBeGreaterThan(0);
    for (const mib of guest.hypervisor.added) expect(mib % 128).toBe(0);
    expect(hostile.count('GetGuestDetails')).toBe(0);
    // The client alone, asked: absurd numbers are plain numbers and strings stay strings (nothing uses them).
    const details = await guest.sandbox.agent.getGuestDetails();
    expect(Number.isFinite(details.memBlockSizeBytes)).toBe(true);
    expect(details.agentVersion).toBe('../../../etc');
    await pod.task.kill({ id: 'c1', signal: 9 });
    expect((await pod.task.wait({ id: 'c1' })).exitStatus).toBe(137);
    await expectUntouched(other);
  });

  it('9. the channel closes and reopens: the VM is declared dead, every task exits 255, the VM is stopped, the shim never dials again', async () => {
    await setup();
    const hostile = guest.agent;
    await pod.task.exec({ id: 'c1', execId: 'e1', spec: packJsonAny(OciTypeUrl.Process, { args: ['sleep'], cwd: '/' }) });
    await pod.task.start({ id: 'c1', execId: 'e1' });
    const exits = [pod.task.wait({ id: 'c1', execId: 'e1' }), pod.task.wait({ id: 'c1' })];
    hostile.dropConnection();
    expect((await Promise.all(exits)).map((e) => e.exitStatus)).toEqual([255, 255]);
    await guest.hypervisor.exited;
    expect(guest.hypervisor.stops).toBe(1);
    expect(guest.sandbox.alive).toBe(false);
    // The agent's socket takes connections again, but the shim does not come back to it.
    (await hostile.connect()).destroy();
    await hostile.until(() => hostile.connections === 2);
    expect(guest.hypervisor.dials).toBe(1);
    const bundle = await pod.bundle('c3', ['sleep'], podAnnotations('container', 'c1'));
    const err = await rpcError(pod.task.create({ id: 'c3', bundle, stdout: '', stderr: '', stdin: '' }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toMatch(/stopping/);
    const topics = pod.publisher.topics();
    expect(topics.filter((t) => t === '/tasks/exit')).toHaveLength(2);
    await expectUntouched(other);
  });
});

function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return [...b];
}
