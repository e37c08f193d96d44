/**
 * Publishes task events to containerd: containerd.services.events.ttrpc.v1.Events/Forward on
 * TTRPC_ADDRESS, in order, through a bounded queue. A failing event is retried in place with a
 * linear backoff (so later events never overtake it) and dropped after MAX_ATTEMPTS; a closed
 * connection is re-dialled. Under CRI-O TTRPC_ADDRESS is empty and events are only logged.
 */
import { Client, createServiceClient, type Codec } from 'ttrpc-ts';
import { EventsService } from '@kata-ts/protocol/containerd';
import { LimitedLogger, type Logger } from './logging';

/** Events held while containerd is slow; beyond this new events are dropped (and logged). */
export const QUEUE_SIZE = 2048;
/** Tries per event before it is evicted. */
export const MAX_ATTEMPTS = 5;
/** Deadline of one Forward call (containerd's publisher uses 5 s). */
const FORWARD_TIMEOUT_MS = 5_000;
const NAMESPACE_KEY = 'containerd-namespace-ttrpc';

/** A task event ready to send: its topic and the Any it travels in. */
export interface TaskEvent {
  topic: string;
  typeUrl: string;
  value: Uint8Array;
}

/** Builds a TaskEvent from an entry of TaskEvents and a message. */
export function taskEvent<T>(kind: { topic: string; typeUrl: string; codec: Codec<T> }, message: T): TaskEvent {
  return { topic: kind.topic, typeUrl: kind.typeUrl, value: kind.codec.encode(message) };
}

/** Where the shim's events go. */
export interface Publisher {
  publish(event: TaskEvent): void;
  /** Sends what is queued (up to timeoutMs) and closes the connection. */
  close(timeoutMs?: number): Promise<void>;
}

/** Publisher for runtimes that give no event address (CRI-O): logs and drops. */
export class LogOnlyPublisher implements Publisher {
  constructor(private readonly log: Logger) {}

  publish(event: TaskEvent): void {
    this.log.debug({ topic: event.topic }, 'event (no TTRPC_ADDRESS, not published)');
  }

  async close(): Promise<void> {}
}

interface Queued {
  event: TaskEvent;
  timestamp: Date;
}

export interface RemotePublisherOptions {
  /** Backoff before retry n (1-based). Default n seconds, like containerd's publisher. */
  backoffMs?: (attempt: number) => number;
  /** Opens the connection; default dials the unix socket. */
  dial?: (address: string) => Promise<Client>;
}

/** Forwards events to containerd's ttrpc Events service. */
export class RemotePublisher implements Publisher {
  private readonly queue: Queued[] = [];
  private client: Client | undefined;
  private running = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private wakeIdle: () => void = () => undefined;
  private readonly backoffMs: (attempt: number) => number;
  private readonly dial: (address: string) => Promise<Client>;
  /** Drops are logged rate-limited: a full queue means events keep coming faster than containerd takes them. */
  private readonly dropLog: LimitedLogger;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly log: Logger,
    options: RemotePublisherOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? ((n) => n * 1000);
    this.dial = options.dial ?? ((a) => Client.connect(a, { timeoutMs: FORWARD_TIMEOUT_MS }));
    this.dropLog = new LimitedLogger(log, { lines: 5, windowMs: 10_000 });
  }

  publish(event: TaskEvent): void {
    if (this.closed) {
      this.log.warn({ topic: event.topic }, 'event after publisher close dropped');
      return;
    }
    if (this.queue.length >= QUEUE_SIZE) {
      this.dropLog.error({ topic: event.topic }, 'event queue full, event dropped');
      return;
    }
    this.queue.push({ event, timestamp: new Date() });
    if (!this.running) this.drain();
  }

  async close(timeoutMs = 3_000): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.client?.close();
    this.client = undefined;
  }

  /** One consumer sends the queue in order; a new drain starts when the queue refills. */
  private drain(): void {
    this.running = true;
    this.idle = new Promise((resolve) => (this.wakeIdle = resolve));
    void (async () => {
      while (this.queue.length > 0) {
        const item = this.queue[0] as Queued;
        await this.sendWithRetries(item);
        this.queue.shift();
      }
      this.running = false;
      this.wakeIdle();
    })();
  }

  private async sendWithRetries(item: Queued): Promise<void> {
    let redialled = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        await this.forward(item);
        return;
      } catch (err) {
        const closed = !!this.client?.isClosed;
        if (closed) this.client = undefined;
        // The connection went away under the call (containerd restarted): dial again at once, as
        // containerd's own publisher does on ErrClosed; only further failures count and back off.
        if (closed && !redialled) {
          redialled = true;
          attempt--;
          this.log.debug({ topic: item.event.topic }, 'containerd connection closed, re-dialling');
          continue;
        }
        if (attempt === MAX_ATTEMPTS) {
          this.log.error({ topic: item.event.topic, err: (err as Error).message }, `evicting event after ${MAX_ATTEMPTS} attempts`);
          return;
        }
        this.log.warn({ topic: item.event.topic, attempt, err: (err as Error).message }, 'publishing event failed, will retry');
        await new Promise((r) => setTimeout(r, this.closed ? Math.min(this.backoffMs(attempt), 200) : this.backoffMs(attempt)));
      }
    }
  }

  private async forward(item: Queued): Promise<void> {
    // containerd closed the connection since the last event (it restarted): start on a new one.
    if (this.client?.isClosed) this.client = undefined;
    this.client ??= await this.dial(this.address);
    const events = createServiceClient(this.client, EventsService);
    const ms = item.timestamp.getTime();
    await events.forward(
      {
        envelope: {
          timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
          namespace: this.namespace,
          topic: item.event.topic,
          event: { type_url: item.event.typeUrl, value: item.event.value },
        },
      },
      { timeoutMs: FORWARD_TIMEOUT_MS, metadata: { [NAMESPACE_KEY]: this.namespace } },
    );
  }
}

/** The publisher for an event address: remote when set, log-only when empty. */
export function createPublisher(ttrpcAddress: string | undefined, namespace: string, log: Logger): Publisher {
  const address = (ttrpcAddress ?? '').replace(/^unix:\/\//, '');
  return address ? new RemotePublisher(address, namespace, log) : new LogOnlyPublisher(log);
}
