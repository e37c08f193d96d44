/**
 * A bare ttrpc connection for tests that must write what no well-behaved client would: arbitrary
 * bytes go out as they are; Response and Data frames coming back are recorded per stream id.
 */
import net from 'node:net';
import { FrameReader, MessageType, decodeResponse } from 'ttrpc-ts';

export type Response = ReturnType<typeof decodeResponse>;

export type WaitResult = 'ok' | 'closed' | 'timeout';

export class RawConnection {
  /** Every Response frame, decoded, by stream id, in arrival order. */
  readonly responses = new Map<number, Response[]>();
  /** How many Data frames arrived per stream id. */
  readonly dataFrames = new Map<number, number>();
  /** Frames from the server that did not decode: always a server bug. */
  readonly malformed: string[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // EPIPE / ECONNRESET when the server hangs up on garbage are expected; 'close' follows.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static open(socketPath: string, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${socketPath}: timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Writes bytes unless the socket is gone (the server may close on us mid-batch). */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Half-closes: the server sees end of stream. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  responseCount(id: number): number {
    return this.responses.get(id)?.length ?? 0;
  }

  /** Resolves 'ok' once `done()` holds, 'closed' if the connection closes first, else 'timeout'. */
  until(done: () => boolean, timeoutMs: number): Promise<WaitResult> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (done()) finish('ok');
        else if (this.closed) finish('closed');
        else return false;
        return true;
      };
      const finish = (result: WaitResult) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(result);
      };
      const waiter = () => void check();
      const timer = setTimeout(() => finish(done() ? 'ok' : 'timeout'), timeoutMs);
      this.waiters.add(waiter);
      check();
    });
  }

  private receive(chunk: Buffer): void {
    let events;
    try {
      events = this.reader.push(chunk);
    } catch (err) {
      this.malformed.push(`from the server: ${(err as Error).message}`);
      this.socket.destroy();
      return;
    }
    for (const { frame } of events) {
      if (frame.type === MessageType.Response) {
        try {
          const list = this.responses.get(frame.streamId) ?? [];
          list.push(decodeResponse(frame.data));
          this.responses.set(frame.streamId, list);
        } catch (err) {
          this.malformed.push(`undecodable Response on stream ${frame.streamId}: ${(err as Error).message}`);
        }
      } else if (frame.type === MessageType.Data) {
        this.dataFrames.set(frame.streamId, (this.dataFrames.get(frame.streamId) ?? 0) + 1);
      } else {
        this.malformed.push(`frame of type ${frame.type} from the server`);
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
