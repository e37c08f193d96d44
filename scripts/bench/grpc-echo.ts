/**
 * The Echo fixture service (packages/ttrpc/test/fixtures/echo.proto) for @grpc/grpc-js, with the same
 * generated protobufjs codecs ttrpc-ts uses, so the benchmark compares transports and nothing else.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ttrpctest } from '../../packages/ttrpc/test/echo-service';

type Msg = { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): unknown };

function codec(type: Msg) {
  return {
    serialize: (m: unknown) => Buffer.from(type.encode(m as never).finish()),
    deserialize: (b: Buffer) => type.decode(b),
  };
}

function methodDef(name: string, req: Msg, res: Msg, responseStream: boolean) {
  const rq = codec(req);
  const rs = codec(res);
  return {
    path: `/ttrpctest.Echo/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: rq.serialize,
    requestDeserialize: rq.deserialize,
    responseSerialize: rs.serialize,
    responseDeserialize: rs.deserialize,
  };
}

export const grpcEchoDefinition = {
  Echo: methodDef('Echo', ttrpctest.EchoRequest, ttrpctest.EchoResponse, false),
  Repeat: methodDef('Repeat', ttrpctest.RepeatRequest, ttrpctest.Chunk, true),
} as const satisfies grpc.ServiceDefinition;

/** Same behaviour as the ttrpc fixture's echo and repeat handlers. */
export function grpcEchoServer(): grpc.Server {
  const server = new grpc.Server();
  server.addService(grpcEchoDefinition, {
    Echo(call: grpc.ServerUnaryCall<ttrpctest.IEchoRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const req = call.request;
      callback(null, { text: req.text, payload: req.payload, metadata: [] });
    },
    async Repeat(call: grpc.ServerWritableStream<ttrpctest.IRepeatRequest, unknown>) {
      const count = call.request.count ?? 0;
      const size = call.request.size ?? 0;
      for (let i = 0; i < count; i++) {
        if (!call.write({ data: Buffer.alloc(size, i & 0xff), seq: i })) await once(call, 'drain');
      }
      call.end();
    },
  });
  return server;
}

export const GrpcEchoClient = grpc.makeGenericClientConstructor(grpcEchoDefinition, 'ttrpctest.Echo');
