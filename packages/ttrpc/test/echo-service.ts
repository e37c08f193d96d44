/** The fixture Echo service (test/fixtures/echo.proto): descriptor, implementation and a disposable pair. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ttrpctest } from './gen/echo';
import { Client, ClientOptions, Code, MESSAGE_LENGTH_MAX, Server, ServerOptions, TtrpcError, createServiceClient, method, protobufCodec } from '../src/index';

export { ttrpctest };

const EchoRequest = protobufCodec(ttrpctest.EchoRequest);
const EchoResponse = protobufCodec(ttrpctest.EchoResponse);
const RepeatRequest = protobufCodec(ttrpctest.RepeatRequest);
const Chunk = protobufCodec(ttrpctest.Chunk);
const Total = protobufCodec(ttrpctest.Total);

export const EchoService = {
  name: 'ttrpctest.Echo',
  methods: {
    echo: method('Echo', EchoRequest, EchoResponse),
    repeat: method('Repeat', RepeatRequest, Chunk, 'server-stream'),
    sum: method('Sum', Chunk, Total, 'client-stream'),
    chat: method('Chat', Chunk, Chunk, 'bidi'),
  },
} as const;

// sleep_ms comes off the wire: past setTimeout's range (2^31-1 ms) the sleep lasts until the abort.
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = ms <= 0x7fffffff ? setTimeout(resolve, ms) : undefined;
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

export function echoServer(options?: ServerOptions): Server {
  return new Server(options).register(EchoService, {
    async echo(req, ctx) {
      if (req.sleepMs) await sleep(req.sleepMs, ctx.signal);
      if (req.failCode) throw new TtrpcError(req.failCode, `failed as asked: ${req.text}`);
      const metadata = Object.entries(ctx.metadata.toJSON()).map(([k, v]) => `${k}=${v.join(',')}`);
      return { text: req.text, payload: req.payload, metadata };
    },
    async repeat(req, out) {
      // Sizes come off the wire: a fuzzer must not make the fixture itself allocate gigabytes.
      if (req.size > MESSAGE_LENGTH_MAX) throw new TtrpcError(Code.INVALID_ARGUMENT, `chunk size ${req.size} over the limit`);
      for (let i = 0; i < req.count; i++) await out.send({ data: Buffer.alloc(req.size, i & 0xff), seq: i });
    },
    async sum(requests) {
      let bytes = 0;
      let messages = 0;
      for await (const chunk of requests) {
        bytes += chunk.data.length;
        messages++;
      }
      return { bytes, messages };
    },
    async chat(requests, out) {
      for await (const chunk of requests) await out.send({ data: chunk.data, seq: chunk.seq + 1 });
    },
  });
}

/** A server on a fresh unix socket and a connected client; close() ends both and removes the directory. */
export async function startEchoPair(options: { server?: ServerOptions; client?: ClientOptions } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ttrpc-test-'));
  const socketPath = path.join(dir, 'echo.sock');
  const server = echoServer(options.server);
  await server.listen(socketPath);
  const client = await Client.connect(socketPath, options.client);
  const echo = createServiceClient(client, EchoService);
  return {
    dir,
    socketPath,
    server,
    client,
    echo,
    async close() {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { Code };
