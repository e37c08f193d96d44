import { AsyncQueue } from './async-queue';
import { AnyMethod, CallContext } from './service';
import { Metadata } from './metadata';

/** Messages a client-streaming call may queue before the handler reads them (as Go's stream buffer). */
export const STREAM_BUFFER_MESSAGES = 64;

/**
 * Server-side state of one stream: the method it runs, its inbound queue (streaming requests only),
 * and its cancellation. `finished` becomes true once the final frame for the stream has been sent;
 * nothing else is sent on it after that.
 */
export class ServerCall {
  readonly inbound: AsyncQueue<unknown> | null;
  readonly context: CallContext;
  finished = false;
  deadlineTimer: NodeJS.Timeout | undefined;
  /**
   * Made on first use of `context.signal`: an AbortController, and above all aborting one (which
   * builds a DOMException with a stack), costs more than the rest of a small call, and most
   * handlers never look at their signal.
   */
  private controller: AbortController | null = null;
  private cancelled = false;

  constructor(
    readonly streamId: number,
    readonly method: AnyMethod,
    call: { service: string; method: string; metadata: Metadata; timeoutNano: number },
  ) {
    const acceptsData = method.kind === 'client-stream' || method.kind === 'bidi';
    this.inbound = acceptsData ? new AsyncQueue(STREAM_BUFFER_MESSAGES) : null;
    const signal = () => this.signal();
    this.context = {
      service: call.service,
      method: call.method,
      metadata: call.metadata,
      deadline: call.timeoutNano > 0 ? Date.now() + call.timeoutNano / 1e6 : undefined,
      get signal() {
        return signal();
      },
    };
  }

  /** Marks the call done and releases its timer and waiters. */
  finish(): void {
    this.finished = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.inbound?.end();
  }

  /** Aborts the handler's signal (at once if it already has one, else when it first asks). */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort();
  }

  private signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }
}
