import { Channel } from './channel';
import { ReadEvent } from './frame-reader';
import { Flag, Frame, MessageType } from './framing';
import { decodeRequest, encodeResponse, RequestEnvelope, WireStatus } from './envelope';
import { Code } from './codes';
import { TtrpcError, toTtrpcError } from './errors';
import { Metadata } from './metadata';
import { ServerCall } from './server-call';
import { StreamStall } from './stream-stall';
import { deadlineTimer } from './timers';
import { AnyMethod, CallContext, SendStream } from './service';
import type { Duplex } from 'node:stream';

/** A method and the function that serves it. */
export interface RegisteredMethod {
  method: AnyMethod;
  handler: (...args: never[]) => unknown;
}

/** How a server connection finds the handler for (service, method). */
export interface HandlerRegistry {
  lookup(service: string, method: string): RegisteredMethod | 'no-service' | 'no-method';
}

export interface ServerConnectionOptions {
  /** Streams one connection may run at once; more get RESOURCE_EXHAUSTED. */
  maxConcurrentStreams: number;
  /** Stop reading from a peer that leaves more than this many response bytes unread. */
  maxPendingWriteBytes: number;
  /** Called with errors that cannot be returned to a caller (a handler failing after its stream ended). */
  onError?: (err: Error, streamId: number) => void;
  /** The server's error→status mapping for what handlers throw (default: toTtrpcError). */
  toStatus?: (err: unknown, ctx: CallContext) => TtrpcError;
  /** Called when a handler settled: its wall time and the status code it ended with (0 = OK). */
  onCallEnd?: (ctx: CallContext, ms: number, code: Code) => void;
}

/**
 * The server side of one connection: enforces the stream-id rules, dispatches every request
 * concurrently, and sends exactly one final frame per stream. Protocol violations are answered with a
 * status on the offending stream; the connection itself survives everything except transport errors.
 */
export class ServerConnection {
  private readonly channel: Channel;
  private readonly stall: StreamStall;
  private readonly calls = new Map<number, ServerCall>();
  private lastRequestId = 0;
  private readonly closedListeners: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    transport: Duplex,
    private readonly registry: HandlerRegistry,
    private readonly options: ServerConnectionOptions,
  ) {
    this.channel = new Channel(transport, (event) => this.onEvent(event), () => this.onClosed());
    this.stall = new StreamStall(this.channel);
    transport.on('drain', () => this.channel.setReading(true));
  }

  get activeStreams(): number {
    return this.calls.size;
  }

  onceClosed(listener: () => void): void {
    if (this.channel.isClosed) listener();
    else this.closedListeners.push(listener);
  }

  close(): void {
    this.channel.close();
  }

  /** Closes once what was written (replies) has gone out, at most timeoutMs. */
  end(timeoutMs: number): Promise<void> {
    return this.channel.end(timeoutMs);
  }

  /** Resolves once no call is in flight (each has handed its final frame to the transport) or the connection closed. */
  whenIdle(): Promise<void> {
    if (this.calls.size === 0 || this.channel.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.calls.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Returns false to have the channel hold this frame until a full stream buffer has room. */
  private onEvent(event: ReadEvent): boolean {
    const { frame } = event;
    switch (frame.type) {
      case MessageType.Request:
        this.onRequest(frame);
        return true;
      case MessageType.Data:
        return this.onData(frame);
      default:
        // Responses and unknown types from a client are ignored, for forward compatibility (as Go does).
        return true;
    }
  }

  private onRequest(frame: Frame): void {
    const id = frame.streamId;
    if (id % 2 === 0) {
      this.sendStatus(id, { code: Code.INVALID_ARGUMENT, message: 'StreamID must be odd for client initiated streams' });
      return;
    }
    if (id <= this.lastRequestId) {
      this.sendStatus(id, { code: Code.INVALID_ARGUMENT, message: 'StreamID cannot be re-used and must increment' });
      return;
    }
    this.lastRequestId = id;
    let request: RequestEnvelope;
    try {
      request = decodeRequest(frame.data);
    } catch (err) {
      const status = err instanceof TtrpcError ? err : { code: Code.INVALID_ARGUMENT, message: `unmarshal request error: ${(err as Error).message}` };
      this.sendStatus(id, { code: status.code, message: status.message });
      return;
    }
    if (this.calls.size >= this.options.maxConcurrentStreams) {
      this.sendStatus(id, { code: Code.RESOURCE_EXHAUSTED, message: `too many concurrent streams (${this.options.maxConcurrentStreams})` });
      return;
    }
    const found = this.registry.lookup(request.service, request.method);
    if (typeof found === 'string') {
      const what = found === 'no-service' ? `service ${request.service}` : `method ${request.method}`;
      this.sendStatus(id, { code: Code.UNIMPLEMENTED, message: what });
      return;
    }
    let message: unknown;
    try {
      message = found.method.requestType.decode(request.payload);
    } catch (err) {
      this.sendStatus(id, { code: Code.INVALID_ARGUMENT, message: `unmarshal request payload: ${(err as Error).message}` });
      return;
    }
    const call = this.startCall(id, request, found.method);
    // ttrpc#126: a streaming request's own payload is a message only when it has bytes;
    // for unary and server-streaming methods it always is (an empty message encodes to nothing).
    const streamsIn = found.method.kind === 'client-stream' || found.method.kind === 'bidi';
    if (streamsIn && request.payload.length > 0) call.inbound?.push(message);
    this.dispatch(call, found.handler, message);
  }

  private startCall(id: number, request: RequestEnvelope, method: AnyMethod): ServerCall {
    const call = new ServerCall(id, method, { ...request, metadata: Metadata.fromKeyValues(request.metadata) });
    this.calls.set(id, call);
    if (call.context.deadline !== undefined) {
      // A handler that ignores its deadline still gets its caller an answer in time. The timer runs
      // from the caller's timeout, not from `deadline - Date.now()`: the wall clock may be set between
      // two reads (a guest restored from a VM template gets SetGuestDateTime, which another process
      // applies, hours forward, right as CreateSandbox arrives), and that difference then fired at once.
      call.deadlineTimer = deadlineTimer(request.timeoutNano / 1e6, () => {
        this.finishWithStatus(call, { code: Code.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
      });
      call.deadlineTimer?.unref();
    }
    return call;
  }

  private dispatch(call: ServerCall, handler: (...args: never[]) => unknown, first: unknown): void {
    const { method } = call;
    const out: SendStream<unknown> = { send: (msg) => this.sendData(call, msg) };
    let result: Promise<unknown>;
    try {
      const h = handler as unknown as (...args: unknown[]) => unknown;
      switch (method.kind) {
        case 'unary':
          result = Promise.resolve(h(first, call.context));
          break;
        case 'server-stream':
          result = Promise.resolve(h(first, out, call.context));
          break;
        case 'client-stream':
          result = Promise.resolve(h(call.inbound, call.context));
          break;
        case 'bidi':
          result = Promise.resolve(h(call.inbound, out, call.context));
          break;
      }
    } catch (err) {
      result = Promise.reject(err);
    }
    const started = performance.now();
    const ended = (code: Code) => this.options.onCallEnd?.(call.context, performance.now() - started, code);
    result
      .then(
        (value) => {
          ended(Code.OK);
          this.finishWithResult(call, value);
        },
        (err: unknown) => {
          const e = (this.options.toStatus ?? toTtrpcError)(err, call.context);
          ended(e.code);
          this.finishWithStatus(call, { code: e.code, message: e.message, details: e.details });
        },
      )
      .catch((err: Error) => {
        // Only a bug gets here (say, status details that do not encode). An unhandled rejection
        // would end the whole process, so report it and answer with a status that always encodes.
        this.options.onError?.(err, call.streamId);
        this.finishWithStatus(call, { code: Code.INTERNAL, message: `ttrpc: ${err.message}` });
      });
  }

  private onData(frame: Frame): boolean {
    const call = this.calls.get(frame.streamId);
    if (!call || call.finished) {
      this.sendStatus(frame.streamId, { code: Code.INVALID_ARGUMENT, message: 'StreamID is no longer active' });
      return true;
    }
    const inbound = call.inbound;
    if (!inbound) {
      this.finishWithStatus(call, { code: Code.INVALID_ARGUMENT, message: `data frame on a ${call.method.kind} stream` });
      return true;
    }
    const hasData = (frame.flags & Flag.NoData) === 0;
    if (hasData) {
      if (inbound.isClosed) {
        this.finishWithStatus(call, { code: Code.INVALID_ARGUMENT, message: 'data after the client closed the stream' });
        return true;
      }
      if (inbound.isFull) {
        // Hold this frame (and the connection) until the handler catches up, for a second at most.
        this.stall.wait(inbound, () => this.finishWithStatus(call, { code: Code.RESOURCE_EXHAUSTED, message: 'ttrpc: stream buffer full' }));
        return false;
      }
      let msg: unknown;
      try {
        msg = call.method.requestType.decode(frame.data);
      } catch (err) {
        this.finishWithStatus(call, { code: Code.INVALID_ARGUMENT, message: `unmarshal data error: ${(err as Error).message}` });
        return true;
      }
      inbound.push(msg);
    }
    if (frame.flags & Flag.RemoteClosed) inbound.end();
    return true;
  }

  private async sendData(call: ServerCall, message: unknown): Promise<void> {
    if (call.finished) throw new TtrpcError(Code.CANCELLED, 'stream finished');
    const data = call.method.responseType.encode(message);
    this.channel.send(call.streamId, MessageType.Data, 0, data);
    await this.channel.waitForDrain();
  }

  private finishWithResult(call: ServerCall, value: unknown): void {
    if (call.finished) return;
    const streaming = call.method.kind === 'server-stream' || call.method.kind === 'bidi';
    const none = value === undefined || value === null;
    let data: Uint8Array;
    try {
      if (none && !streaming) throw new TtrpcError(Code.INTERNAL, 'ttrpc: marshal called with nil');
      data = none ? new Uint8Array(0) : call.method.responseType.encode(value);
    } catch (err) {
      // A reply that does not encode is the handler's bug; its caller still gets an answer.
      const e = toTtrpcError(err);
      this.finishWithStatus(call, { code: e.code === Code.UNKNOWN ? Code.INTERNAL : e.code, message: e.message });
      return;
    }
    if (streaming) {
      // The end of a server stream is Data[RC|ND], or Data[RC] carrying a last message.
      const flags = none ? Flag.RemoteClosed | Flag.NoData : Flag.RemoteClosed;
      this.complete(call, () => this.channel.send(call.streamId, MessageType.Data, flags, data));
      return;
    }
    this.complete(call, () => this.sendResponse(call.streamId, { status: null, payload: data }));
  }

  private finishWithStatus(call: ServerCall, status: { code: Code; message: string; details?: WireStatus['details'] }): void {
    if (call.finished) return;
    this.complete(call, () => this.sendStatus(call.streamId, status));
  }

  /** Sends a stream's final frame once, then forgets the stream and cancels its handler. */
  private complete(call: ServerCall, sendFinal: () => void): void {
    call.finish();
    this.calls.delete(call.streamId);
    if (this.calls.size === 0) queueMicrotask(() => this.notifyIdle());
    try {
      sendFinal();
    } catch (err) {
      // A stream's last message was too large (Responses fall back in sendResponse): the caller
      // still gets an answer, as a status.
      const e = toTtrpcError(err);
      this.sendStatus(call.streamId, { code: e.code, message: e.message });
    }
    call.cancel();
  }

  private sendStatus(streamId: number, status: { code: Code; message: string; details?: WireStatus['details'] }): void {
    this.sendResponse(streamId, {
      status: { code: status.code, message: status.message, details: status.details ?? [] },
      payload: new Uint8Array(0),
    });
  }

  private sendResponse(streamId: number, response: { status: WireStatus | null; payload: Uint8Array }): void {
    const max = this.channel.maxMessageLength;
    // A status quoting a huge name back ("service <4 MiB>") is known too large before it is encoded.
    let data = (response.status?.message.length ?? 0) > max ? null : encodeResponse(response);
    if (data === null || data.length > max) {
      // Too large to send. The caller still gets exactly one answer, and nothing throws into the reader.
      const message = data ? `message length ${data.length} exceed maximum message size of ${max}` : `status message exceeds maximum message size of ${max}`;
      data = encodeResponse({ status: { code: Code.RESOURCE_EXHAUSTED, message, details: [] }, payload: new Uint8Array(0) });
    }
    const ok = this.channel.send(streamId, MessageType.Response, 0, data);
    if (!ok && this.channel.pendingWriteBytes > this.options.maxPendingWriteBytes) {
      // The peer is not reading its answers: stop taking new requests until it does.
      this.channel.setReading(false);
    }
  }

  private onClosed(): void {
    this.stall.dispose();
    for (const call of this.calls.values()) {
      call.finish();
      call.cancel();
    }
    this.calls.clear();
    for (const w of this.idleWaiters.splice(0)) w();
    for (const listener of this.closedListeners.splice(0)) listener();
  }
}
