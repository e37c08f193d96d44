import net from 'node:net';
import { startEchoPair, Code } from '../test/echo-service';
import { Client } from './client';
import { ClosedError, TtrpcError } from './errors';
import { MESSAGE_LENGTH_MAX } from './framing';

type Pair = Awaited<ReturnType<typeof startEchoPair>>;

describe('ttrpc client and server', () => {
  let pair: Pair;
  beforeEach(async () => {
    pair = await startEchoPair({ client: { metadata: { 'containerd-namespace-ttrpc': 'default' } } });
  });
  afterEach(() => pair.close());

  it('makes a unary call and carries metadata', async () => {
    const res = await pair.echo.echo({ text: 'hi', payload: Buffer.from([1, 2, 3]) }, { metadata: { 'X-Trace': ['a', 'b'] } });
    expect(res.text).toBe('hi');
    expect(Buffer.from(res.payload)).toEqual(Buffer.from([1, 2, 3]));
    expect(res.metadata.sort()).toEqual(['containerd-namespace-ttrpc=default', 'x-trace=a,b']);
  });

  it('answers an empty request (zero-length payload)', async () => {
    const res = await pair.echo.echo({});
    expect(res.text).toBe('');
  });

  it('returns handler errors as statuses with their code', async () => {
    const err = await pair.echo.echo({ text: 'x', failCode: Code.NOT_FOUND }).catch((e) => e);
    expect(err).toBeInstanceOf(TtrpcError);
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toBe('failed as asked: x');
  });

  it('fails a call whose response is over its maxResponseBytes, undecoded, and carries on', async () => {
    const big = { text: 'x', payload: Buffer.alloc(10_000) };
    const err = await pair.echo.echo(big, { maxResponseBytes: 4096 }).catch((e) => e);
    expect(err).toBeInstanceOf(TtrpcError);
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toMatch(/^ttrpc: response of 100\d\d bytes exceeds this call's limit of 4096$/);
    expect((await pair.echo.echo(big, { maxResponseBytes: 20_000 })).payload.length).toBe(10_000);
    expect((await pair.echo.echo(big)).payload.length).toBe(10_000);
  });

  it('reports each settled call with its wall time and status code on both sides (onCallEnd)', async () => {
    const ended: Array<{ method: string; ms: number; code: number }> = [];
    const made: Array<{ service: string; method: string; ms: number; code: number }> = [];
    const timed = await startEchoPair({
      server: { onCallEnd: (ctx, ms, code) => ended.push({ method: ctx.method, ms, code }) },
      client: { onCallEnd: (service, method, ms, code) => made.push({ service, method, ms, code }) },
    });
    try {
      await timed.echo.echo({ text: 'slow', sleepMs: 50 });
      await timed.echo.echo({ text: 'x', failCode: Code.NOT_FOUND }).catch(() => undefined);
      await timed.echo.echo({ text: 'late', sleepMs: 500 }, { timeoutMs: 20 }).catch(() => undefined);
      expect(ended.slice(0, 2).map((e) => [e.method, e.code])).toEqual([['Echo', Code.OK], ['Echo', Code.NOT_FOUND]]);
      expect(ended[0]!.ms).toBeGreaterThanOrEqual(45);
      expect(made.map((e) => [e.method, e.code])).toEqual([['Echo', Code.OK], ['Echo', Code.NOT_FOUND], ['Echo', Code.DEADLINE_EXCEEDED]]);
      expect(made[0]!.service).toMatch(/Echo/);
      expect(made[0]!.ms).toBeGreaterThanOrEqual(45);
    } finally {
      await timed.close();
    }
  });

  it('shutdown lets a call in flight send its reply, then closes; close does not wait', async () => {
    const inFlight = pair.echo.echo({ text: 'last words', sleepMs: 100 });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await pair.server.shutdown(2_000);
    expect((await inFlight).text).toBe('last words');
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(pair.server.connectionCount).toBe(0);

    const other = await startEchoPair();
    const cut = other.echo.echo({ text: 'never', sleepMs: 500 });
    await new Promise((r) => setTimeout(r, 20));
    await other.server.close();
    await expect(cut).rejects.toBeInstanceOf(ClosedError);
    await other.close();
  });

  it('shutdown gives up on a call that outlasts the grace period', async () => {
    const stuck = pair.echo.echo({ text: 'slow', sleepMs: 3_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await pair.server.shutdown(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await stuck).toBeInstanceOf(ClosedError);
  });

  it('answers UNIMPLEMENTED for an unknown service and an unknown method', async () => {
    const m = { name: 'Nope', kind: 'unary' as const, requestType: { encode: () => new Uint8Array(0), decode: () => ({}) }, responseType: { encode: () => new Uint8Array(0), decode: () => ({}) } };
    await expect(pair.client.unary('no.Such', m, {})).rejects.toMatchObject({ code: Code.UNIMPLEMENTED, message: 'service no.Such' });
    await expect(pair.client.unary('ttrpctest.Echo', m, {})).rejects.toMatchObject({ code: Code.UNIMPLEMENTED, message: 'method Nope' });
  });

  it('runs calls concurrently: a parked call does not delay a later one', async () => {
    const parked = pair.echo.echo({ text: 'slow', sleepMs: 1500 });
    const t0 = Date.now();
    await pair.echo.echo({ text: 'fast' });
    expect(Date.now() - t0).toBeLessThan(500);
    expect((await parked).text).toBe('slow');
  });

  it('enforces the deadline on both sides', async () => {
    const t0 = Date.now();
    const err = await pair.echo.echo({ sleepMs: 5000 }, { timeoutMs: 100 }).catch((e) => e);
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The connection still works afterwards.
    expect((await pair.echo.echo({ text: 'after' })).text).toBe('after');
  });

  it('refuses an oversized request locally with RESOURCE_EXHAUSTED and stays usable', async () => {
    const err = await pair.echo.echo({ payload: Buffer.alloc(MESSAGE_LENGTH_MAX + 1) }).catch((e) => e);
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect((await pair.echo.echo({ text: 'ok' })).text).toBe('ok');
  });

  it('carries a message just under the limit', async () => {
    const payload = Buffer.alloc(MESSAGE_LENGTH_MAX - 256, 7);
    const res = await pair.echo.echo({ payload });
    expect(res.payload.length).toBe(payload.length);
  });

  it('streams from the server', async () => {
    const seqs: number[] = [];
    for await (const chunk of pair.echo.repeat({ count: 50, size: 1000 })) seqs.push(chunk.seq);
    expect(seqs).toEqual([...Array(50).keys()]);
  });

  it('streams many small messages from the server: a burst larger than the buffer waits, it does not fail', async () => {
    let n = 0;
    for await (const chunk of pair.echo.repeat({ count: 2000, size: 10 })) if (chunk.seq === n) n++;
    expect(n).toBe(2000);
  });

  it('streams many small messages from the client in one burst', async () => {
    const call = pair.echo.sum();
    for (let i = 0; i < 500; i++) void call.send({ data: Buffer.alloc(10), seq: i });
    call.closeSend();
    expect(await call.response).toEqual(expect.objectContaining({ bytes: 5000, messages: 500 }));
  });

  it('streams from the client', async () => {
    const call = pair.echo.sum();
    for (let i = 0; i < 10; i++) await call.send({ data: Buffer.alloc(100), seq: i });
    call.closeSend();
    expect(await call.response).toEqual(expect.objectContaining({ bytes: 1000, messages: 10 }));
  });

  it('streams both ways', async () => {
    const call = pair.echo.chat();
    const got: number[] = [];
    const reading = (async () => {
      for await (const c of call.responses) got.push(c.seq);
    })();
    for (let i = 0; i < 5; i++) await call.send({ data: Buffer.from('x'), seq: i * 10 });
    call.closeSend();
    await reading;
    expect(got).toEqual([1, 11, 21, 31, 41]);
  });

  it('fails pending calls with ClosedError when the connection closes', async () => {
    const pending = pair.echo.echo({ sleepMs: 10_000 });
    pair.client.close();
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(ClosedError);
    expect(err.message).toBe('ttrpc: closed');
    await expect(pair.echo.echo({})).rejects.toBeInstanceOf(ClosedError);
  });

  it('fails pending calls when the server goes away', async () => {
    const pending = pair.echo.echo({ sleepMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await pair.server.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
  });

  it('serves many concurrent calls on one connection', async () => {
    const results = await Promise.all([...Array(500).keys()].map((i) => pair.echo.echo({ text: String(i) })));
    expect(results.map((r) => Number(r.text))).toEqual([...Array(500).keys()]);
  });

  it('uses odd increasing stream ids', async () => {
    const seen: number[] = [];
    const sock = net.connect(pair.socketPath);
    await new Promise((r) => sock.once('connect', r));
    const origWrite = sock.write.bind(sock);
    (sock as unknown as { write: (b: Buffer) => boolean }).write = (b: Buffer) => {
      seen.push(b.readUInt32BE(4));
      return origWrite(b);
    };
    const c = new Client(sock);
    const { createServiceClient } = await import('./client');
    const { EchoService } = await import('../test/echo-service');
    const echo = createServiceClient(c, EchoService);
    await echo.echo({});
    await echo.echo({});
    await Promise.all([echo.echo({}), echo.echo({})]);
    c.close();
    expect(seen).toEqual([1, 3, 5, 7]);
  });
});

describe('a server with its own error mapping', () => {
  it('maps what handlers throw through ServerOptions.toStatus, once per failure', async () => {
    const seen: string[] = [];
    const pair = await startEchoPair({
      server: {
        toStatus: (err, ctx) => {
          seen.push(`${ctx.method}: ${(err as Error).message}`);
          return new TtrpcError(Code.FAILED_PRECONDITION, `mapped: ${(err as Error).message}`);
        },
      },
    });
    try {
      const err = await pair.echo.echo({ text: 'x', failCode: Code.NOT_FOUND }).catch((e) => e);
      expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, message: 'mapped: failed as asked: x' });
      expect(seen).toEqual(['Echo: failed as asked: x']);
      // Successful calls never reach the mapping.
      await pair.echo.echo({ text: 'ok' });
      expect(seen).toHaveLength(1);
    } finally {
      await pair.close();
    }
  });
});
