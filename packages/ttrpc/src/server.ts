import net from 'node:net';
import { promises as fs } from 'node:fs';
import type { Duplex } from 'node:stream';
import { HandlerRegistry, RegisteredMethod, ServerConnection } from './server-connection';
import { CallContext, ServiceDescriptor, ServiceImplementation } from './service';
import type { TtrpcError } from './errors';
import type { Code } from './codes';

export interface ServerOptions {
  /** Concurrent streams per connection (default 4096; Wait calls park here for a container's lifetime). */
  maxConcurrentStreams?: number;
  /** Unread response bytes after which the server stops reading from that peer (default 16 MiB). */
  maxPendingWriteBytes?: number;
  /** Runs for each accepted unix-socket connection; return false to refuse it (e.g. a same-uid check). */
  accept?: (socket: net.Socket) => boolean;
  /** Errors that have no caller to go to. */
  onError?: (err: Error, streamId: number) => void;
  /**
   * The one place where what handlers throw becomes a status (and the place to log failures).
   * Default: toTtrpcError — statuses pass through, errno errors are translated, the rest is UNKNOWN.
   */
  toStatus?: (err: unknown, ctx: CallContext) => TtrpcError;
  /** Called when a handler settled, with its wall time in ms and the status code (0 = OK): timing logs, metrics. */
  onCallEnd?: (ctx: CallContext, ms: number, code: Code) => void;
}

/**
 * A ttrpc server. Register service implementations, then serve any Duplex (serveConnection) or listen
 * on a unix socket. Unknown services and methods — and registered methods without an implementation —
 * answer UNIMPLEMENTED.
 */
export class Server implements HandlerRegistry {
  private readonly services = new Map<string, Map<string, RegisteredMethod | null>>();
  private readonly connections = new Set<ServerConnection>();
  private readonly listeners = new Set<net.Server>();
  private readonly options: Required<Omit<ServerOptions, 'accept' | 'onError' | 'toStatus' | 'onCallEnd'>> & ServerOptions;

  constructor(options: ServerOptions = {}) {
    this.options = { maxConcurrentStreams: 4096, maxPendingWriteBytes: 16 << 20, ...options };
  }

  /** Adds a service; methods the implementation leaves out answer UNIMPLEMENTED. */
  register<S extends ServiceDescriptor>(service: S, implementation: ServiceImplementation<S>): this {
    if (this.services.has(service.name)) throw new Error(`ttrpc: service ${service.name} registered twice`);
    const methods = new Map<string, RegisteredMethod | null>();
    for (const [key, method] of Object.entries(service.methods)) {
      const handler = (implementation as Record<string, unknown>)[key];
      methods.set(method.name, typeof handler === 'function' ? { method, handler: handler.bind(implementation) } : null);
    }
    this.services.set(service.name, methods);
    return this;
  }

  lookup(service: string, method: string): RegisteredMethod | 'no-service' | 'no-method' {
    const methods = this.services.get(service);
    if (!methods) return 'no-service';
    return methods.get(method) ?? 'no-method';
  }

  /** Serves one already-connected transport (a socket, a virtio-serial port stream, a vsock stream...). */
  serveConnection(transport: Duplex): ServerConnection {
    const conn = new ServerConnection(transport, this, this.options);
    this.connections.add(conn);
    conn.onceClosed(() => this.connections.delete(conn));
    return conn;
  }

  /** Listens on a unix socket path (removing a stale socket file first) and serves every connection. */
  async listen(path: string): Promise<net.Server> {
    await fs.rm(path, { force: true });
    return this.listenOn(net.createServer(), path);
  }

  /** Serves connections accepted by an existing listener, e.g. one inherited as fd 3. */
  listenOn(listener: net.Server, path?: string | { fd: number }): Promise<net.Server> {
    listener.on('connection', (socket: net.Socket) => {
      if (this.options.accept && !this.options.accept(socket)) {
        socket.destroy();
        return;
      }
      this.serveConnection(socket);
    });
    this.listeners.add(listener);
    return new Promise((resolve, reject) => {
      if (path === undefined) {
        resolve(listener);
        return;
      }
      listener.once('error', reject);
      listener.listen(path, () => {
        listener.off('error', reject);
        resolve(listener);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops listening, lets the calls in flight finish and send their replies (for at most graceMs),
   * then closes every connection (Go ttrpc's Shutdown). A handler that ends the process's service
   * (a shim's Shutdown) thus still answers its caller.
   */
  async shutdown(graceMs: number): Promise<void> {
    const closing = [...this.listeners].map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.listeners.clear();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all([...this.connections].map((c) => c.whenIdle())), grace]);
    clearTimeout(timer);
    // Ended, not destroyed: a reply still in the socket's buffer reaches its caller.
    await Promise.all([...this.connections].map((c) => c.end(500)));
    await this.close();
    await Promise.all(closing);
  }

  /** Stops listening and closes every connection; in-flight handlers see their signal aborted. */
  async close(): Promise<void> {
    const closing = [...this.listeners].map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.listeners.clear();
    for (const conn of this.connections) conn.close();
    await Promise.all(closing);
  }
}
