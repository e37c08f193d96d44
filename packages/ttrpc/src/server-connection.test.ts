import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EchoService, echoServer, ttrpctest } from '../test/echo-service';
import { echoRequest } from '../test/fuzz-cases';
import { RawConnection } from '../test/raw-connection';
import { Code } from './codes';
import { encodeRequest } from './envelope';
import { Flag, MESSAGE_LENGTH_MAX, MessageType, encodeFrame } from './framing';
import { Server } from './server';
import { STREAM_FULL_WAIT_MS } from './stream-stall';
import { method } from './service';

/** Requests no well-behaved client sends, answered on the wire: what a hostile or buggy peer sees. */
describe('ServerConnection under hostile requests', () => {
  let dir: string;
  let socketPath: string;
  let server: Server;
  let conn: RawConnection;

  async function start(s: Server): Promise<void> {
    server = s;
    await server.listen(socketPath);
    conn = await RawConnection.open(socketPath);
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ttrpc-sc-'));
    socketPath = path.join(dir, 's.sock');
  });
  afterEach(async () => {
    conn.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (id: number, fields: { service?: string; method?: string; payload?: Uint8Array; timeoutNano?: number }, flags = 0) =>
    encodeFrame(id, MessageType.Request, flags, encodeRequest({ service: 'ttrpctest.Echo', method: 'Echo', payload: new Uint8Array(0), timeoutNano: 0, metadata: [], ...fields }));
  const codeOf = (id: number) => conn.responses.get(id)?.map((r) => r.status?.code ?? Code.OK);

  it('answers a request whose "service <name>" status would be too large, instead of crashing', async () => {
    await start(echoServer());
    conn.write(request(1, { service: 'n'.repeat(MESSAGE_LENGTH_MAX - 16) }));
    conn.write(echoRequest(3, 'still here'));
    expect(await conn.until(() => conn.responseCount(3) > 0, 5000)).toBe('ok');
    expect(codeOf(1)).toEqual([Code.RESOURCE_EXHAUSTED]);
    expect(codeOf(3)).toEqual([Code.OK]);
  });

  it('treats a timeout_nano past the timer range as no deadline, not as one already passed', async () => {
    await start(echoServer());
    const payload = ttrpctest.EchoRequest.encode({ text: 'far', sleepMs: 30 }).finish();
    conn.write(request(1, { payload, timeoutNano: 2 ** 62 }));
    expect(await conn.until(() => conn.responseCount(1) > 0, 5000)).toBe('ok');
    expect(codeOf(1)).toEqual([Code.OK]);
  });

  it('arms a deadline from the timeout, not from the wall clock, which may be set while the request arrives', async () => {
    // A clone of a VM template has its guest clock set (SetGuestDateTime, applied by another process)
    // hours forward while CreateSandbox comes in: a deadline taken as 'absolute deadline - Date.now()'
    // across that jump fired at once (the soak saw 1 clone in 100 fail with 'context deadline exceeded').
    await start(echoServer());
    const realNow = Date.now.bind(Date);
    let jumps = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + ++jumps * 3_600_000);
    try {
      const payload = ttrpctest.EchoRequest.encode({ text: 'clock set meanwhile', sleepMs: 30 }).finish();
      conn.write(request(1, { payload, timeoutNano: 5e9 }));
      expect(await conn.until(() => conn.responseCount(1) > 0, 5000)).toBe('ok');
    } finally {
      clock.mockRestore();
    }
    expect(jumps).toBeGreaterThan(0);
    expect(codeOf(1)).toEqual([Code.OK]);
  });

  it('still fails a call whose handler overruns its timeout', async () => {
    await start(echoServer());
    const payload = ttrpctest.EchoRequest.encode({ text: 'slow', sleepMs: 2_000 }).finish();
    conn.write(request(1, { payload, timeoutNano: 50e6 }));
    expect(await conn.until(() => conn.responseCount(1) > 0, 5000)).toBe('ok');
    expect(codeOf(1)).toEqual([Code.DEADLINE_EXCEEDED]);
  });

  it('takes a burst of Data frames larger than the stream buffer without failing the stream', async () => {
    await start(echoServer());
    const frames = [request(1, { method: 'Sum' }, Flag.RemoteOpen)];
    for (let i = 0; i < 500; i++) frames.push(encodeFrame(1, MessageType.Data, 0, ttrpctest.Chunk.encode({ data: Buffer.alloc(3), seq: i }).finish()));
    frames.push(encodeFrame(1, MessageType.Data, Flag.RemoteClosed | Flag.NoData, Buffer.alloc(0)));
    conn.write(Buffer.concat(frames)); // one write: the server reads them all at once
    expect(await conn.until(() => conn.responseCount(1) > 0, 5000)).toBe('ok');
    const res = conn.responses.get(1)![0]!;
    expect(res.status).toBeNull();
    expect(ttrpctest.Total.decode(res.payload)).toMatchObject({ bytes: 1500, messages: 500 });
  });

  it('fails a stream whose handler stops reading after a bounded wait, then serves the rest', async () => {
    await start(
      new Server().register(EchoService, {
        sum: () => new Promise(() => undefined), // never reads its requests
        echo: (req) => ({ text: req.text, payload: req.payload, metadata: [] }),
      }),
    );
    const frames = [request(1, { method: 'Sum' }, Flag.RemoteOpen)];
    for (let i = 0; i < 100; i++) frames.push(encodeFrame(1, MessageType.Data, 0, ttrpctest.Chunk.encode({ seq: i }).finish()));
    frames.push(echoRequest(3, 'behind the stall'));
    const t0 = Date.now();
    conn.write(Buffer.concat(frames));
    expect(await conn.until(() => conn.responseCount(3) > 0, 5000)).toBe('ok');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(STREAM_FULL_WAIT_MS - 50);
    expect(conn.responses.get(1)![0]!.status).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, message: 'ttrpc: stream buffer full' });
    expect(codeOf(3)).toEqual([Code.OK]);
  });

  it('answers INTERNAL when a stream handler returns a reply that does not encode', async () => {
    const broken = { encode: (): Uint8Array => { throw new Error('cannot encode'); }, decode: () => ({}) };
    const service = { name: 'x.Broken', methods: { get: method('Get', broken, broken, 'server-stream') } } as const;
    await start(new Server().register(service, { get: async () => ({}) as never }));
    conn.write(encodeFrame(1, MessageType.Request, Flag.RemoteClosed, encodeRequest({ service: 'x.Broken', method: 'Get', payload: new Uint8Array(0), timeoutNano: 0, metadata: [] })));
    expect(await conn.until(() => conn.responseCount(1) > 0, 5000)).toBe('ok');
    expect(conn.responses.get(1)![0]!.status).toMatchObject({ code: Code.INTERNAL, message: 'cannot encode' });
  });
});
