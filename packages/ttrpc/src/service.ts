import { Codec } from './codec';
import { Metadata } from './metadata';

/** How a method exchanges messages; decides the frames used (see PROTOCOL.md). */
export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/**
 * One method of a service. Requests are built as `ReqIn` by callers and arrive decoded as `ReqOut` in
 * handlers; responses are returned as `ResIn` by handlers and arrive decoded as `ResOut` at callers.
 */
export interface MethodDescriptor<ReqIn = unknown, ReqOut = ReqIn, ResIn = unknown, ResOut = ResIn, K extends MethodKind = MethodKind> {
  /** Bare method name as on the wire, e.g. "Create". */
  readonly name: string;
  readonly kind: K;
  readonly requestType: Codec<ReqIn, ReqOut>;
  readonly responseType: Codec<ResIn, ResOut>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDescriptor<any, any, any, any, MethodKind>;

export interface ServiceDescriptor<M extends Record<string, AnyMethod> = Record<string, AnyMethod>> {
  /** Fully-qualified proto service name, e.g. "containerd.task.v2.Task". */
  readonly name: string;
  readonly methods: M;
}

/** Builds a method descriptor with its kind kept as a literal type, so handlers and calls are typed. */
export function method<ReqIn, ReqOut, ResIn, ResOut, K extends MethodKind = 'unary'>(
  name: string,
  requestType: Codec<ReqIn, ReqOut>,
  responseType: Codec<ResIn, ResOut>,
  kind: K = 'unary' as K,
): MethodDescriptor<ReqIn, ReqOut, ResIn, ResOut, K> {
  return { name, kind, requestType, responseType };
}

/** Per-call information a handler gets. */
export interface CallContext {
  readonly service: string;
  readonly method: string;
  readonly metadata: Metadata;
  /** Absolute deadline in ms since the epoch, when the caller set timeout_nano. */
  readonly deadline: number | undefined;
  /** Aborted when the deadline passes or the connection closes. */
  readonly signal: AbortSignal;
}

/** The sending half a streaming handler writes to; send() waits while the transport is backed up. */
export interface SendStream<T> {
  send(message: T): Promise<void>;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
export type ServerStreamHandler<Req, Res> = (request: Req, out: SendStream<Res>, ctx: CallContext) => Promise<void>;
export type ClientStreamHandler<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;
export type BidiHandler<Req, Res> = (requests: AsyncIterable<Req>, out: SendStream<Res>, ctx: CallContext) => Promise<void>;

/** The handler signature that matches a method descriptor's kind: decoded requests in, plain responses out. */
export type HandlerFor<M> =
  M extends MethodDescriptor<unknown, infer Req, infer Res, unknown, infer K>
    ? K extends 'unary'
      ? UnaryHandler<Req, Res>
      : K extends 'server-stream'
        ? ServerStreamHandler<Req, Res>
        : K extends 'client-stream'
          ? ClientStreamHandler<Req, Res>
          : BidiHandler<Req, Res>
    : never;

/** A service implementation: any subset of the methods; the rest answer UNIMPLEMENTED. */
export type ServiceImplementation<S extends ServiceDescriptor> = {
  [K in keyof S['methods']]?: HandlerFor<S['methods'][K]>;
};

/** What a caller sends and what it gets back for a method descriptor. */
export type RequestOf<M> = M extends MethodDescriptor<infer Req, unknown, unknown, unknown, MethodKind> ? Req : never;
export type ResponseOf<M> = M extends MethodDescriptor<unknown, unknown, unknown, infer Res, MethodKind> ? Res : never;
