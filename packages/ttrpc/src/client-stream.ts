import { AsyncQueue } from './async-queue';
import { TtrpcError } from './errors';

/** Messages a caller may leave unread on a server stream before it is failed (bounded memory). */
export const CLIENT_STREAM_BUFFER_MESSAGES = 256;

/** What the client needs to tell a caller about one open stream. */
export interface ClientStreamSink {
  /** A Data frame's message (already decoded). */
  message(msg: unknown): void;
  /** The server finished the stream successfully (Data[RC] or an OK Response with `payload`). */
  end(final?: unknown): void;
  fail(err: TtrpcError): void;
  /** True for methods whose responses are Data frames (server-stream, bidi). */
  readonly streamsOut: boolean;
  /** Where streamed messages wait for the caller; when it is full the client stops reading for a while. */
  readonly queue?: AsyncQueue<unknown>;
}

/** A stream of responses from the server, read with `for await`. */
export class ResponseStream<T> implements AsyncIterable<T> {
  constructor(private readonly queue: AsyncQueue<T>) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.queue[Symbol.asyncIterator]();
  }
}

/** The calling side of a client-streaming or bidi call. */
export interface RequestStream<Req> {
  /** Sends one message; waits while the transport is backed up. */
  send(message: Req): Promise<void>;
  /** Tells the server no more messages will come (Data[RC|ND]). */
  closeSend(): void;
}
