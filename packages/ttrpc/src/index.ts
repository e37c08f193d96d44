/**** Client ****/
export { Client, createServiceClient } from './client';
export type { CallOptions, ClientOptions, ServiceClient } from './client';
export { ResponseStream } from './client-stream';
export type { RequestStream } from './client-stream';

/**** Server ****/
export { Server } from './server';
export type { ServerOptions } from './server';
export type { ServerConnection } from './server-connection';

/**** Services and codecs ****/
export { method } from './service';
export type {
  AnyMethod, CallContext, HandlerFor, MethodDescriptor, MethodKind, RequestOf, ResponseOf, SendStream,
  ServiceDescriptor, ServiceImplementation,
} from './service';
export { bytesCodec, protobufCodec } from './codec';
export type { Codec, ProtobufType } from './codec';

/**** Errors and metadata ****/
export { Code, codeName } from './codes';
export { ClosedError, TtrpcError, isTtrpcError, toTtrpcError } from './errors';
export type { StatusDetail } from './errors';
export { Metadata } from './metadata';
export type { KeyValue, MetadataInit } from './metadata';

/**** Wire level (for tools, tests and fuzzers) ****/
export { Flag, HEADER_LENGTH, MESSAGE_LENGTH_MAX, MessageType, encodeFrame } from './framing';
export { FrameReader, OversizedFrameError } from './frame-reader';
export { encodeRequest, decodeResponse } from './envelope';
