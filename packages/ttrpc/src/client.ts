import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Channel } from './channel';
import { ReadEvent } from './frame-reader';
import { Flag, Frame, MessageType } from './framing';
import { decodeResponse, encodeRequest } from './envelope';
import { Code } from './codes';
import { ClosedError, TtrpcError } from './errors';
import { Metadata, MetadataInit } from './metadata';
import { AsyncQueue } from './async-queue';
import { deadlineTimer } from './timers';
import { StreamStall } from './stream-stall';
import { AnyMethod, MethodDescriptor, ServiceDescriptor } from './service';
import { CLIENT_STREAM_BUFFER_MESSAGES, ClientStreamSink, RequestStream, ResponseStream } from './client-stream';

export interface CallOptions {
  /** Deadline for the call, sent as timeout_nano and enforced locally too. 0/undefined = none. */
  timeoutMs?: number;
  metadata?: MetadataInit;
  signal?: AbortSignal;
  /**
   * Largest frame (bytes) accepted on this call; a larger one fails it RESOURCE_EXHAUSTED before it
   * is decoded. Protobuf amplifies: 4 MiB of empty repeated entries decode to hundreds of MiB of
   * objects, so a peer that is not trusted is held to what its replies can really need.
   */
  maxResponseBytes?: number;
}

export interface ClientOptions {
  /** Metadata sent with every call (e.g. containerd-namespace-ttrpc); per-call metadata overrides keys. */
  metadata?: MetadataInit;
  /** Runs once when the connection closes, with the reason if it failed. */
  onClose?: (err: Error | undefined) => void;
  /** Runs when a unary call ends, with its duration and status code (OK on success): for metrics. */
  onCallEnd?: (service: string, method: string, ms: number, code: Code) => void;
}

const LAST_STREAM_ID = 0xffffffff;

/**
 * A ttrpc client over one transport. Calls are multiplexed on odd, strictly increasing stream ids;
 * many may be in flight at once and each completes independently of the others (a call parked in
 * Wait never delays a Kill). When the transport closes every pending call fails with ClosedError.
 */
export class Client {
  private readonly channel: Channel;
  private readonly stall: StreamStall;
  private readonly streams = new Map<number, ClientStreamSink>();
  /** The method of each open stream, to decode its responses. */
  private readonly methods = new Map<number, AnyMethod>();
  /** maxResponseBytes of the open streams that set one. */
  private readonly responseLimits = new Map<number, number>();
  private nextStreamId = 1;
  private readonly defaultMetadata: Metadata;
  private closeReason: Error | undefined;

  constructor(transport: Duplex, private readonly options: ClientOptions = {}) {
    this.defaultMetadata = Metadata.from(options.metadata);
    this.channel = new Channel(transport, (event) => this.onEvent(event), (err) => this.onClosed(err));
    this.stall = new StreamStall(this.channel);
  }

  /** Connects to a unix socket path and returns a client for it. */
  static connect(path: string, options: ClientOptions & { timeoutMs?: number } = {}): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = options.timeoutMs
        ? setTimeout(() => {
            socket.destroy();
            reject(new TtrpcError(Code.DEADLINE_EXCEEDED, `ttrpc: connect ${path}: timed out`));
          }, options.timeoutMs)
        : undefined;
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Client(socket, options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isClosed(): boolean {
    return this.channel.isClosed;
  }

  get pendingCalls(): number {
    return this.streams.size;
  }

  /** Makes a unary call. */
  unary<Req, Res>(service: string, method: MethodDescriptor<Req, unknown, unknown, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    const observer = this.options.onCallEnd;
    const started = observer ? performance.now() : 0;
    let ended = false; // a call is observed once, however it ends
    const onCallEnd = observer && ((code: Code) => {
      if (!ended) observer(service, method.name, performance.now() - started, code);
      ended = true;
    });
    return new Promise<Res>((resolve, reject) => {
      const sink: ClientStreamSink = {
        streamsOut: false,
        message: () => sink.fail(new TtrpcError(Code.INTERNAL, 'ttrpc: data frame on a unary call')),
        end: (final) => {
          onCallEnd?.(Code.OK);
          resolve(final as Res);
        },
        fail: (err) => {
          onCallEnd?.(err instanceof TtrpcError ? err.code : Code.UNKNOWN);
          reject(err);
        },
      };
      this.open(service, method, request, 0, options, sink);
    });
  }

  /** Starts a server-streaming call; responses arrive through the returned stream. */
  serverStream<Req, Res>(service: string, method: MethodDescriptor<Req, unknown, unknown, Res>, request: Req, options: CallOptions = {}): ResponseStream<Res> {
    const queue = new AsyncQueue<Res>(CLIENT_STREAM_BUFFER_MESSAGES);
    this.open(service, method, request, Flag.RemoteClosed, options, this.queueSink(queue));
    return new ResponseStream(queue);
  }

  /** Starts a client-streaming call: send messages, closeSend(), then await `response`. */
  clientStream<Req, Res>(service: string, method: MethodDescriptor<Req, unknown, unknown, Res>, options: CallOptions = {}): RequestStream<Req> & { response: Promise<Res> } {
    let sink!: ClientStreamSink;
    const response = new Promise<Res>((resolve, reject) => {
      sink = { streamsOut: false, message: () => sink.fail(new TtrpcError(Code.INTERNAL, 'ttrpc: data frame on a client-stream call')), end: (f) => resolve(f as Res), fail: reject };
    });
    const id = this.open(service, method, undefined, Flag.RemoteOpen, options, sink);
    return { ...this.requestStream(id, method), response };
  }

  /** Starts a bidirectional call. */
  bidi<Req, Res>(service: string, method: MethodDescriptor<Req, unknown, unknown, Res>, options: CallOptions = {}): RequestStream<Req> & { responses: ResponseStream<Res> } {
    const queue = new AsyncQueue<Res>(CLIENT_STREAM_BUFFER_MESSAGES);
    const id = this.open(service, method, undefined, Flag.RemoteOpen, options, this.queueSink(queue));
    return { ...this.requestStream(id, method), responses: new ResponseStream(queue) };
  }

  /** Closes the connection; pending calls fail with ClosedError. */
  close(): void {
    this.channel.close();
  }

  private queueSink<Res>(queue: AsyncQueue<Res>): ClientStreamSink {
    return {
      streamsOut: true,
      queue: queue as AsyncQueue<unknown>,
      message: (msg) => {
        if (!queue.push(msg as Res)) queue.fail(new TtrpcError(Code.RESOURCE_EXHAUSTED, 'ttrpc: stream buffer full'));
      },
      end: (final) => {
        if (final !== undefined) queue.push(final as Res);
        queue.end();
      },
      fail: (err) => queue.fail(err),
    };
  }

  private requestStream<Req>(id: number, method: AnyMethod): RequestStream<Req> {
    let closed = false;
    return {
      send: async (message: Req) => {
        if (closed) throw new TtrpcError(Code.FAILED_PRECONDITION, 'ttrpc: send after closeSend');
        if (!this.streams.has(id)) throw this.closeReason ? new ClosedError(this.closeReason.message) : new TtrpcError(Code.CANCELLED, 'ttrpc: stream finished');
        this.channel.send(id, MessageType.Data, 0, method.requestType.encode(message));
        await this.channel.waitForDrain();
      },
      closeSend: () => {
        if (closed) return;
        closed = true;
        if (this.streams.has(id)) this.channel.send(id, MessageType.Data, Flag.RemoteClosed | Flag.NoData, new Uint8Array(0));
      },
    };
  }

  /** Allocates a stream id, registers the sink, and writes the Request frame. Returns the id. */
  private open(service: string, method: AnyMethod, request: unknown, flags: number, options: CallOptions, sink: ClientStreamSink): number {
    if (this.channel.isClosed) {
      sink.fail(new ClosedError(this.closeReason?.message));
      return 0;
    }
    if (this.nextStreamId > LAST_STREAM_ID) {
      sink.fail(new TtrpcError(Code.RESOURCE_EXHAUSTED, 'ttrpc: stream ids exhausted on this connection'));
      return 0;
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const metadata = options.metadata ? this.defaultMetadata.merge(Metadata.from(options.metadata)) : this.defaultMetadata;
    const timeoutMs = options.timeoutMs ?? 0;
    let frame: Uint8Array;
    try {
      const payload = request === undefined ? new Uint8Array(0) : method.requestType.encode(request);
      frame = encodeRequest({ service, method: method.name, payload, timeoutNano: Math.round(timeoutMs * 1e6), metadata: metadata.toKeyValues() });
    } catch (err) {
      sink.fail(err instanceof TtrpcError ? err : new TtrpcError(Code.INVALID_ARGUMENT, `ttrpc: marshal request: ${(err as Error).message}`));
      return 0;
    }
    const cleanups: Array<() => void> = [];
    const finish = () => {
      this.streams.delete(id);
      this.methods.delete(id);
      this.responseLimits.delete(id);
      for (const c of cleanups) c();
    };
    const tracked: ClientStreamSink = {
      streamsOut: sink.streamsOut,
      queue: sink.queue,
      message: (msg) => sink.message(msg),
      end: (final) => {
        finish();
        sink.end(final);
      },
      fail: (err) => {
        finish();
        sink.fail(err);
      },
    };
    this.streams.set(id, tracked);
    this.methods.set(id, method);
    if (options.maxResponseBytes !== undefined) this.responseLimits.set(id, options.maxResponseBytes);
    if (timeoutMs > 0) {
      const timer = deadlineTimer(timeoutMs, () => tracked.fail(new TtrpcError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded')));
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => tracked.fail(new TtrpcError(Code.CANCELLED, 'context canceled'));
      if (signal.aborted) {
        onAbort();
        return id;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    try {
      this.channel.send(id, MessageType.Request, flags, frame);
    } catch (err) {
      tracked.fail(err as TtrpcError);
    }
    return id;
  }

  /** Returns false to have the channel hold this frame until a full response stream has room. */
  private onEvent(event: ReadEvent): boolean {
    const sink = this.streams.get(event.frame.streamId);
    // Frames for calls that already ended (timed out, cancelled) are dropped, as Go's receiveLoop does.
    if (!sink) return true;
    const limit = this.responseLimits.get(event.frame.streamId);
    if (limit !== undefined && event.frame.data.length > limit) {
      sink.fail(new TtrpcError(Code.RESOURCE_EXHAUSTED, `ttrpc: response of ${event.frame.data.length} bytes exceeds this call's limit of ${limit}`));
      return true;
    }
    if (event.frame.type === MessageType.Response) this.onResponse(sink, event.frame);
    else if (event.frame.type === MessageType.Data) return this.onData(sink, event.frame);
    return true;
  }

  private onResponse(sink: ClientStreamSink, frame: Frame): void {
    let response;
    try {
      response = decodeResponse(frame.data);
    } catch (err) {
      sink.fail(new TtrpcError(Code.INTERNAL, `ttrpc: unmarshal response: ${(err as Error).message}`));
      return;
    }
    const status = response.status;
    if (status && status.code !== Code.OK) {
      sink.fail(new TtrpcError(status.code, status.message, status.details));
      return;
    }
    if (sink.streamsOut) {
      sink.end();
      return;
    }
    this.decodeInto(sink, frame.streamId, response.payload, (msg) => sink.end(msg));
  }

  private onData(sink: ClientStreamSink, frame: Frame): boolean {
    const hasData = (frame.flags & Flag.NoData) === 0;
    const closing = (frame.flags & Flag.RemoteClosed) !== 0;
    if (!sink.streamsOut) {
      sink.message(undefined);
      return true;
    }
    if (hasData) {
      if (sink.queue?.isFull) {
        // Hold this frame (and the connection) until the caller reads on, for a second at most.
        this.stall.wait(sink.queue, () => sink.fail(new TtrpcError(Code.RESOURCE_EXHAUSTED, 'ttrpc: stream buffer full')));
        return false;
      }
      const ok = this.decodeInto(sink, frame.streamId, frame.data, (msg) => sink.message(msg));
      if (!ok) return true;
    }
    if (closing) sink.end();
    return true;
  }

  private decodeInto(sink: ClientStreamSink, streamId: number, data: Uint8Array, deliver: (msg: unknown) => void): boolean {
    const method = this.methods.get(streamId);
    let msg: unknown;
    try {
      msg = method ? method.responseType.decode(data) : undefined;
    } catch (err) {
      sink.fail(new TtrpcError(Code.INTERNAL, `ttrpc: unmarshal payload: ${(err as Error).message}`));
      return false;
    }
    deliver(msg);
    return true;
  }

  private onClosed(err: Error | undefined): void {
    this.stall.dispose();
    this.closeReason = err;
    const pending = [...this.streams.values()];
    this.streams.clear();
    this.methods.clear();
    this.responseLimits.clear();
    for (const sink of pending) sink.fail(new ClosedError(err?.message));
    this.options.onClose?.(err);
  }
}

/** A typed client for one service: one function per method, named as in the descriptor. */
export type ServiceClient<S extends ServiceDescriptor> = {
  [K in keyof S['methods']]: S['methods'][K] extends MethodDescriptor<infer Req, unknown, unknown, infer Res, infer Kind>
    ? Kind extends 'unary'
      ? (request: Req, options?: CallOptions) => Promise<Res>
      : Kind extends 'server-stream'
        ? (request: Req, options?: CallOptions) => ResponseStream<Res>
        : Kind extends 'client-stream'
          ? (options?: CallOptions) => RequestStream<Req> & { response: Promise<Res> }
          : (options?: CallOptions) => RequestStream<Req> & { responses: ResponseStream<Res> }
    : never;
};

/** Binds a service descriptor to a client connection. */
export function createServiceClient<S extends ServiceDescriptor>(client: Client, service: S): ServiceClient<S> {
  const out: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(service.methods)) {
    switch (m.kind) {
      case 'unary':
        out[key] = (req: unknown, o?: CallOptions) => client.unary(service.name, m, req, o);
        break;
      case 'server-stream':
        out[key] = (req: unknown, o?: CallOptions) => client.serverStream(service.name, m, req, o);
        break;
      case 'client-stream':
        out[key] = (o?: CallOptions) => client.clientStream(service.name, m, o);
        break;
      case 'bidi':
        out[key] = (o?: CallOptions) => client.bidi(service.name, m, o);
        break;
    }
  }
  return out as ServiceClient<S>;
}
