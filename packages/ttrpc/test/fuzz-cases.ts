/**
 * Malformed-traffic generators for the ttrpc server fuzz test (fuzz.itest.ts). Each case builds one
 * batch of frames for a fresh connection from a seeded PRNG, and says what the server must answer:
 * exact status codes where the protocol fixes them, and whether the batch leaves the connection's
 * framing in an unknown state (a length that swallows what follows), in which case the server may
 * stay silent until the peer hangs up but must then close cleanly.
 */
import { Code, Flag, HEADER_LENGTH, MESSAGE_LENGTH_MAX, MessageType, encodeFrame, encodeRequest } from 'ttrpc-ts';
import { ttrpctest } from './gen/echo';

const SERVICE = 'ttrpctest.Echo';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 0x100000000) * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}

/** A pool of seeded random bytes; garbage is sliced from it rather than generated per frame. */
export class Junk {
  readonly bytes: Buffer;

  constructor(rng: Rng, size = MESSAGE_LENGTH_MAX + (1 << 20)) {
    this.bytes = Buffer.allocUnsafe(size);
    for (let i = 0; i + 4 <= size; i += 4) this.bytes.writeUInt32LE(rng.u32(), i);
  }

  slice(rng: Rng, length: number): Buffer {
    const start = rng.int(0, this.bytes.length - length);
    return this.bytes.subarray(start, start + length);
  }
}

/** What the server must answer on one stream id: exactly these codes, in any order. */
export interface Expectation {
  id: number;
  codes: Code[];
  /** When set, each answer may be any of these codes instead (codes.length answers). */
  anyOf?: Code[];
}

export interface Batch {
  category: string;
  /** Written in order; each entry counts as one frame (a blob of random bytes counts as one too). */
  frames: Uint8Array[];
  /** The framing may be left mid-frame: the probe on the same connection may go unanswered. */
  poisons: boolean;
  /** Half-close right after writing; the server must then close the connection. */
  endAfter: boolean;
  /** An odd id above every request id in the batch, for a well-formed call on the same connection. */
  probeId: number;
  /** Codes the same-connection probe may get instead of OK (e.g. when the batch filled every stream slot). */
  probeMayFail?: Code[];
  expectations: Expectation[];
  /** No stream may get more Responses than frames were sent on it (off for garbage headers). */
  checkBudget: boolean;
}

type CaseFn = (rng: Rng, junk: Junk) => Batch;

/** Odd stream ids, increasing, as a well-behaved client allocates them. */
class Ids {
  private next: number;

  constructor(start = 1) {
    this.next = start | 1;
  }

  take(): number {
    const id = this.next;
    this.next += 2;
    return id;
  }
}

function envelope(fields: { service?: string; method?: string; payload?: Uint8Array; timeoutNano?: number; metadata?: { key: string; value: string }[] } = {}): Uint8Array {
  return encodeRequest({
    service: fields.service ?? SERVICE,
    method: fields.method ?? 'Echo',
    payload: fields.payload ?? new Uint8Array(0),
    timeoutNano: fields.timeoutNano ?? 0,
    metadata: fields.metadata ?? [],
  });
}

function echoPayload(fields: { text?: string; sleepMs?: number; failCode?: number } = {}): Uint8Array {
  return ttrpctest.EchoRequest.encode(fields).finish();
}

export function echoRequest(id: number, text: string, extra: { sleepMs?: number; timeoutNano?: number } = {}): Buffer {
  const payload = echoPayload({ text, sleepMs: extra.sleepMs });
  return encodeFrame(id, MessageType.Request, 0, envelope({ payload, timeoutNano: extra.timeoutNano }));
}

function header(length: number, id: number, type: number, flags: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH);
  buf.writeUInt32BE(length >>> 0, 0);
  buf.writeUInt32BE(id >>> 0, 4);
  buf[8] = type & 0xff;
  buf[9] = flags & 0xff;
  return buf;
}

function frame(id: number, type: number, flags: number, data: Uint8Array): Buffer {
  return Buffer.concat([header(data.length, id, type, flags), data]);
}

function batch(category: string, fields: Partial<Batch> & Pick<Batch, 'frames' | 'probeId'>): Batch {
  return { category, poisons: false, endAfter: false, expectations: [], checkBudget: true, ...fields };
}

/** The smallest odd id the batch did not use, for the probe. */
function unusedOddId(ids: number[]): number {
  const used = new Set(ids);
  let id = 1;
  while (used.has(id)) id += 2;
  return id;
}

/** Per-id expectations for ids that may repeat: one expected code per frame sent on the id. */
function expectEach(ids: number[], code: Code): Expectation[] {
  const byId = new Map<number, Code[]>();
  for (const id of ids) byId.set(id, [...(byId.get(id) ?? []), code]);
  return [...byId].map(([id, codes]) => ({ id, codes }));
}

// ---------------------------------------------------------------------------------------------------
// Garbage with no framing at all, or headers with random fields.

const randomBytes: CaseFn = (rng, junk) => {
  const frames = Array.from({ length: rng.int(1, 20) }, () => junk.slice(rng, rng.int(1, 4096)));
  return batch('random-bytes', { frames, poisons: true, endAfter: rng.chance(0.3), probeId: 0x7ffffff1, checkBudget: false });
};

const randomHeaders: CaseFn = (rng, junk) => {
  const frames: Buffer[] = [];
  let lies = false;
  let maxRequestId = 0;
  for (let i = rng.int(20, 100); i > 0; i--) {
    const type = rng.pick([0, 1, 2, 3, 4, rng.int(0, 255)]);
    const id = rng.int(0, 0x3fffffff);
    if (type === MessageType.Request) maxRequestId = Math.max(maxRequestId, id);
    const body = junk.slice(rng, rng.int(0, 512));
    if (rng.chance(0.03)) {
      lies = true;
      frames.push(Buffer.concat([header(rng.u32(), id, type, rng.int(0, 255)), body]));
    } else {
      frames.push(frame(id, type, rng.int(0, 255), body));
    }
  }
  const probeId = (maxRequestId + 2) | 1;
  return batch('random-headers', { frames, poisons: lies, probeId, checkBudget: !lies });
};

// ---------------------------------------------------------------------------------------------------
// Well-framed Requests whose protobuf is broken.

/** Bit flips, truncation and spliced garbage applied to valid bytes. */
function mutate(rng: Rng, junk: Junk, valid: Uint8Array): Buffer {
  const out = Buffer.from(valid);
  switch (rng.int(0, 3)) {
    case 0:
      for (let i = rng.int(1, 8); i > 0 && out.length > 0; i--) out[rng.int(0, out.length - 1)]! ^= 1 << rng.int(0, 7);
      return out;
    case 1:
      return out.subarray(0, rng.int(0, Math.max(0, out.length - 1)));
    case 2: {
      const at = rng.int(0, out.length);
      return Buffer.concat([out.subarray(0, at), junk.slice(rng, rng.int(1, 64)), out.subarray(at)]);
    }
    default:
      return junk.slice(rng, rng.int(0, 1024));
  }
}

const garbageEnvelope: CaseFn = (rng, junk) => {
  const ids = new Ids();
  const valid = envelope({ payload: echoPayload({ text: 'x' }), metadata: [{ key: 'k', value: 'v' }] });
  const frames = Array.from({ length: rng.int(20, 100) }, () => encodeFrame(ids.take(), MessageType.Request, 0, mutate(rng, junk, valid)));
  return batch('garbage-envelope', { frames, probeId: ids.take() });
};

const garbagePayload: CaseFn = (rng, junk) => {
  const ids = new Ids();
  const frames: Buffer[] = [];
  for (let i = rng.int(20, 60); i > 0; i--) {
    const method = rng.pick(['Echo', 'Repeat', 'Sum', 'Chat']);
    const flags = rng.pick([0, Flag.RemoteClosed, Flag.RemoteOpen, rng.int(0, 255)]);
    const payload = mutate(rng, junk, echoPayload({ text: 'hello', sleepMs: 5 }));
    frames.push(encodeFrame(ids.take(), MessageType.Request, flags, envelope({ method, payload })));
  }
  return batch('garbage-payload', { frames, probeId: ids.take() });
};

/** Protobuf groups nest without a length, so a run of start-group tags is the deepest input there is. */
const nestedGarbage: CaseFn = (rng) => {
  const ids = new Ids();
  const frames: Buffer[] = [];
  const expectations: Expectation[] = [];
  for (let i = rng.int(1, 3); i > 0; i--) {
    const depth = rng.pick([100, 1000, 100_000, MESSAGE_LENGTH_MAX - 64]);
    const groups = Buffer.alloc(depth, 0x7b); // field 15, wire type 3 (start group), never closed
    const id = ids.take();
    let data: Uint8Array;
    switch (rng.int(0, 2)) {
      case 0:
        data = groups;
        break;
      case 1:
        data = envelope({ payload: groups });
        break;
      default: {
        // Inside a metadata entry: the KeyValue decoder meets the groups.
        const kv = Buffer.concat([Buffer.from([0x2a]), varint(groups.length), groups]);
        data = Buffer.concat([envelope(), kv]);
      }
    }
    frames.push(encodeFrame(id, MessageType.Request, 0, data));
    expectations.push({ id, codes: [Code.INVALID_ARGUMENT], anyOf: [Code.INVALID_ARGUMENT, Code.UNIMPLEMENTED] });
  }
  return batch('nested-garbage', { frames, probeId: ids.take(), expectations });
};

// ---------------------------------------------------------------------------------------------------
// Stream-id rule violations.

const evenIds: CaseFn = (rng) => {
  const ids = Array.from({ length: rng.int(20, 100) }, () => rng.pick([0, 2, rng.int(0, 0x7fffffff) * 2]));
  const frames = ids.map((id) => echoRequest(id, 'even'));
  return batch('even-ids', { frames, probeId: 1, expectations: expectEach(ids, Code.INVALID_ARGUMENT) });
};

const reusedIds: CaseFn = (rng) => {
  const first = rng.int(50, 500) | 1;
  const ids = new Ids(first);
  const used = Array.from({ length: rng.int(3, 10) }, () => ids.take());
  const frames = used.map((id) => echoRequest(id, 'first'));
  const codes = new Map<number, Code[]>(used.map((id) => [id, [Code.OK]]));
  const max = used[used.length - 1]!;
  for (let i = rng.int(10, 60); i > 0; i--) {
    // An exact repeat, or any odd id at or below the last one (a decreasing id).
    const id = rng.chance(0.5) ? rng.pick(used) : rng.int(0, (max - 1) / 2) * 2 + 1;
    frames.push(echoRequest(id, 'again'));
    codes.set(id, [...(codes.get(id) ?? []), Code.INVALID_ARGUMENT]);
  }
  return batch('reused-ids', { frames, probeId: ids.take(), expectations: [...codes].map(([id, c]) => ({ id, codes: c })) });
};

const dataUnknownIds: CaseFn = (rng, junk) => {
  const ids = Array.from({ length: rng.int(20, 100) }, () => rng.pick([0, 1, 3, rng.int(0, 0xffffffff)]));
  const frames = ids.map((id) => frame(id, MessageType.Data, rng.int(0, 255), junk.slice(rng, rng.int(0, 256))));
  return batch('data-unknown-ids', { frames, probeId: unusedOddId(ids), expectations: expectEach(ids, Code.INVALID_ARGUMENT) });
};

/** Data frames on a unary or server-streaming call: the call fails INVALID_ARGUMENT, and never answers twice. */
const dataOnUnary: CaseFn = (rng, junk) => {
  const ids = new Ids();
  const frames: Buffer[] = [];
  const expectations: Expectation[] = [];
  for (let s = rng.int(1, 5); s > 0; s--) {
    const id = ids.take();
    if (rng.chance(0.5)) frames.push(echoRequest(id, 'parked', { sleepMs: 5000 }));
    else frames.push(encodeFrame(id, MessageType.Request, Flag.RemoteClosed, envelope({ method: 'Repeat', payload: ttrpctest.RepeatRequest.encode({ count: 3, size: 8 }).finish() })));
    const n = rng.int(1, 4);
    for (let i = 0; i < n; i++) frames.push(frame(id, MessageType.Data, rng.pick([0, Flag.RemoteClosed, Flag.RemoteClosed | Flag.NoData]), junk.slice(rng, rng.int(0, 64))));
    expectations.push({ id, codes: Array(n).fill(Code.INVALID_ARGUMENT) });
  }
  return batch('data-on-unary', { frames, probeId: ids.take(), expectations });
};

// ---------------------------------------------------------------------------------------------------
// Lengths past the limit, and frames cut short.

/**
 * Frames over the limit, their data sent in full, between well-formed calls: no conforming peer sends
 * one, so the server closes the connection at the header (the probe goes unanswered).
 */
const oversized: CaseFn = (rng, junk) => {
  const ids = new Ids();
  const frames: Buffer[] = [echoRequest(ids.take(), 'before oversized')];
  for (let i = rng.int(1, 2); i > 0; i--) {
    const type = rng.pick([MessageType.Request, MessageType.Data, MessageType.Response, 7]);
    const id = rng.chance(0.8) ? ids.take() : 2 * rng.int(0, 1000);
    const length = MESSAGE_LENGTH_MAX + rng.int(1, 65536);
    frames.push(Buffer.concat([header(length, id, type, 0), junk.slice(rng, length)]));
  }
  frames.push(echoRequest(ids.take(), 'after oversized'));
  return batch('oversized', { frames, poisons: true, probeId: ids.take(), checkBudget: false });
};

/** A length past the limit, then fewer bytes than it promised: the rest of the connection is body. */
const oversizedShort: CaseFn = (rng, junk) => {
  const length = rng.int(MESSAGE_LENGTH_MAX + 1, 0xffffffff);
  const frames = [header(length, rng.int(0, 100) * 2 + 1, rng.pick([1, 2, 3, 9]), rng.int(0, 255)), junk.slice(rng, rng.int(0, 65536))];
  return batch('oversized-short', { frames, poisons: true, endAfter: rng.chance(0.5), probeId: 0x7ffffff1, checkBudget: false });
};

const truncated: CaseFn = (rng) => {
  const ids = new Ids();
  const frames = Array.from({ length: rng.int(0, 10) }, () => echoRequest(ids.take(), 'before the cut'));
  const whole = echoRequest(ids.take(), 'cut short '.repeat(rng.int(1, 50)));
  frames.push(whole.subarray(0, rng.int(1, whole.length - 1)));
  return batch('truncated', { frames, poisons: true, endAfter: rng.chance(0.5), probeId: ids.take(), checkBudget: false });
};

// ---------------------------------------------------------------------------------------------------
// Frames a server must ignore.

const unknownTypes: CaseFn = (rng, junk) => {
  const ids = Array.from({ length: rng.int(20, 100) }, () => rng.int(0, 0xffffffff));
  const frames = ids.map((id) => frame(id, rng.pick([0, 4, 5, 0x80, 0xff, rng.int(4, 255)]), rng.int(0, 255), junk.slice(rng, rng.int(0, 512))));
  return batch('unknown-types', { frames, probeId: unusedOddId(ids), expectations: [...new Set(ids)].map((id) => ({ id, codes: [] })) });
};

const responseFrames: CaseFn = (rng, junk) => {
  const ids = Array.from({ length: rng.int(20, 100) }, () => rng.int(0, 0xffffffff));
  const frames = ids.map((id) => {
    const body = rng.chance(0.5) ? junk.slice(rng, rng.int(0, 256)) : Buffer.from([0x0a, 0x02, 0x08, rng.int(0, 16), 0x12, 0x00]);
    return frame(id, MessageType.Response, rng.int(0, 255), body);
  });
  return batch('response-frames', { frames, probeId: unusedOddId(ids), expectations: [...new Set(ids)].map((id) => ({ id, codes: [] })) });
};

// ---------------------------------------------------------------------------------------------------
// Well-formed but hostile: huge metadata, huge names, odd deadlines, abused streams, a stream flood.

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Encoded metadata entries (field 5), built once per shape: they are large and slow to make. */
const metadataShapes = new Map<string, Buffer>();

function metadataBytes(shape: string, budget: number): Buffer {
  const cached = metadataShapes.get(shape);
  if (cached) return cached;
  const parts: Buffer[] = [];
  let size = 0;
  const add = (key: string, value: string) => {
    const k = Buffer.from(key);
    const v = Buffer.from(value);
    const kv = Buffer.concat([Buffer.from([0x0a]), varint(k.length), k, Buffer.from([0x12]), varint(v.length), v]);
    const entry = Buffer.concat([Buffer.from([0x2a]), varint(kv.length), kv]);
    if (size + entry.length > budget) return false;
    parts.push(entry);
    size += entry.length;
    return true;
  };
  switch (shape) {
    case 'empty-pairs': {
      // Two bytes per entry: two million entries in one frame.
      const bytes = Buffer.alloc(budget - (budget % 2));
      for (let i = 0; i < bytes.length; i += 2) bytes[i] = 0x2a;
      parts.push(bytes);
      break;
    }
    case 'many-keys':
      for (let i = 0; add(`k${i}`, ''); i++);
      break;
    case 'one-huge-value':
      add('big', 'v'.repeat(budget - 16));
      break;
    default:
      for (let i = 0; i < 1000 && add(`key-${i}`, 'x'.repeat(4000)); i++);
  }
  const bytes = Buffer.concat(parts);
  metadataShapes.set(shape, bytes);
  return bytes;
}

const hugeMetadata: CaseFn = (rng) => {
  const ids = new Ids();
  const id = ids.take();
  const head = envelope({ payload: echoPayload({ text: 'metadata' }) });
  const shape = rng.pick(['empty-pairs', 'many-keys', 'one-huge-value', 'big-values']);
  const data = Buffer.concat([head, metadataBytes(shape, MESSAGE_LENGTH_MAX - head.length)]);
  const frames = [encodeFrame(id, MessageType.Request, 0, data)];
  const expectations = [{ id, codes: [Code.OK], anyOf: [Code.OK, Code.RESOURCE_EXHAUSTED, Code.INVALID_ARGUMENT] }];
  return batch(`huge-metadata/${shape}`, { frames, probeId: ids.take(), expectations });
};

const hugeNames: CaseFn = (rng) => {
  const ids = new Ids();
  const id = ids.take();
  // A service name 11..19 bytes short of the limit makes "service <name>" just too long to send back.
  const data = rng.chance(0.5)
    ? envelope({ service: 'n'.repeat(MESSAGE_LENGTH_MAX - rng.pick([rng.int(11, 19), rng.int(20, 4096)])) })
    : envelope({ method: 'n'.repeat(MESSAGE_LENGTH_MAX - rng.int(21, 4096)) });
  const frames = [encodeFrame(id, MessageType.Request, 0, data)];
  const expectations = [{ id, codes: [Code.UNIMPLEMENTED], anyOf: [Code.UNIMPLEMENTED, Code.RESOURCE_EXHAUSTED] }];
  return batch('huge-names', { frames, probeId: ids.take(), expectations });
};

/** timeout_nano at the edges: past 2^31 ms (Node's timer limit), negative, and a nanosecond. */
const deadlines: CaseFn = (rng) => {
  const ids = new Ids();
  const frames: Buffer[] = [];
  const expectations: Expectation[] = [];
  for (let i = rng.int(5, 20); i > 0; i--) {
    const id = ids.take();
    const kind = rng.int(0, 3);
    const timeoutNano = [rng.pick([2 ** 53, 2 ** 62, 9.2e18, 3e15]), -rng.int(1, 1e9), rng.int(1, 1000), 10e9][kind]!;
    frames.push(echoRequest(id, 'deadline', { sleepMs: 20, timeoutNano }));
    const codes = [[Code.OK], [Code.OK, Code.DEADLINE_EXCEEDED], [Code.DEADLINE_EXCEEDED], [Code.OK]][kind]!;
    expectations.push({ id, codes: [codes[0]!], anyOf: codes });
  }
  return batch('deadlines', { frames, probeId: ids.take(), expectations });
};

/** Client-streaming and bidi calls fed garbage, closed twice, or sent data after their close. */
const streamAbuse: CaseFn = (rng, junk) => {
  const ids = new Ids();
  const frames: Buffer[] = [];
  const expectations: Expectation[] = [];
  for (let s = rng.int(1, 6); s > 0; s--) {
    const id = ids.take();
    const method = rng.pick(['Sum', 'Chat']);
    frames.push(encodeFrame(id, MessageType.Request, Flag.RemoteOpen, envelope({ method })));
    for (let i = rng.int(0, 100); i > 0; i--) {
      const data = junk.slice(rng, rng.int(0, 100));
      frames.push(frame(id, MessageType.Data, 0, ttrpctest.Chunk.encode({ data, seq: i }).finish()));
    }
    const ending = rng.int(0, 3);
    if (ending === 0) {
      // A clean close: Sum must answer, however many messages came in one burst.
      frames.push(frame(id, MessageType.Data, Flag.RemoteClosed | Flag.NoData, Buffer.alloc(0)));
      if (method === 'Sum') expectations.push({ id, codes: [Code.OK] });
    } else if (ending === 1) {
      // Garbage data, or data after the close.
      frames.push(frame(id, MessageType.Data, Flag.RemoteClosed | Flag.NoData, Buffer.alloc(0)));
      frames.push(frame(id, MessageType.Data, rng.int(0, 255), junk.slice(rng, rng.int(1, 64))));
    } else if (ending === 2) {
      frames.push(frame(id, MessageType.Data, rng.int(0, 255), junk.slice(rng, rng.int(1, 256))));
    }
    // ending 3: left open; the connection's close ends it.
  }
  return batch('stream-abuse', { frames, probeId: ids.take(), expectations });
};

/**
 * More parked calls than a connection may hold: the surplus gets RESOURCE_EXHAUSTED, the server keeps
 * going. Run once per fuzz run (it is 4,000 frames on its own), not drawn at random.
 */
export const streamFlood: CaseFn = (rng) => {
  const ids = new Ids();
  const count = 4096 + rng.int(1, 200);
  const frames = Array.from({ length: count }, () => echoRequest(ids.take(), 'parked', { sleepMs: 60_000 }));
  return batch('stream-flood', { frames, probeId: ids.take(), probeMayFail: [Code.RESOURCE_EXHAUSTED] });
};

/** Each case with its weight: cheap frame-heavy cases run often, 4 MiB ones now and then. */
export const CASES: Array<[string, CaseFn, number]> = [
  ['random-bytes', randomBytes, 8],
  ['random-headers', randomHeaders, 10],
  ['garbage-envelope', garbageEnvelope, 10],
  ['garbage-payload', garbagePayload, 10],
  ['nested-garbage', nestedGarbage, 2],
  ['even-ids', evenIds, 6],
  ['reused-ids', reusedIds, 6],
  ['data-unknown-ids', dataUnknownIds, 6],
  ['data-on-unary', dataOnUnary, 6],
  ['oversized', oversized, 2],
  ['oversized-short', oversizedShort, 4],
  ['truncated', truncated, 6],
  ['unknown-types', unknownTypes, 6],
  ['response-frames', responseFrames, 6],
  ['huge-metadata', hugeMetadata, 2],
  ['huge-names', hugeNames, 1],
  ['deadlines', deadlines, 4],
  ['stream-abuse', streamAbuse, 6],
];

/** Draws a case by weight, among those named in `only` when given (FUZZ_ONLY, to chase one bug). */
export function pickCase(rng: Rng, only?: readonly string[]): CaseFn {
  const cases = only?.length ? CASES.filter(([name]) => only.includes(name)) : CASES;
  const total = cases.reduce((sum, [, , w]) => sum + w, 0);
  let r = (rng.u32() / 0x100000000) * total;
  for (const [, fn, w] of cases) {
    r -= w;
    if (r < 0) return fn;
  }
  return cases[0]![1];
}
