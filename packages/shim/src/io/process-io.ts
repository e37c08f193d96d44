/**
 * Pumps one process's stdio between the host ends (host-io.ts) and the agent's streams:
 * ReadStdout/ReadStderr long polls (1 MiB each; Kata's shim asks 32 KiB) written to the host with
 * backpressure, and host stdin forwarded with WriteStdin, EOF sent as CloseStdin. Nothing is
 * buffered beyond one chunk per stream. `drained` settles once the agent reported EOF on every
 * output stream and the host accepted every byte, which is what must happen before an exit is
 * reported.
 */
import type { Readable, Writable } from 'node:stream';
import type { AgentClient } from '../agent/agent-client';
import type { LimitedLogger } from '../framework/logging';
import type { HostIo } from './host-io';

/** Bytes asked for per ReadStdout/ReadStderr (Kata's bufSize is 32 KiB; under TCG each round trip costs more than the bytes). */
export const READ_CHUNK = 1 << 20;
/** Most bytes sent per WriteStdin. */
export const WRITE_CHUNK = 1 << 20;

function write(dest: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (dest.destroyed || dest.writableEnded) {
      resolve();
      return;
    }
    const onError = () => resolve();
    dest.once('error', onError);
    dest.write(data, () => {
      dest.off('error', onError);
      resolve();
    });
  });
}

export class ProcessIo {
  private readonly drainedPromise: Promise<void>;
  private stdinDone = false;
  private closed = false;

  constructor(
    private readonly agent: AgentClient,
    private readonly containerId: string,
    /** The agent-side exec id (the container id for init). */
    private readonly execId: string,
    private readonly host: HostIo,
    terminal: boolean,
    private readonly log: LimitedLogger,
  ) {
    const outputs = [this.pump('stdout', host.stdout)];
    if (!terminal) outputs.push(this.pump('stderr', host.stderr));
    this.drainedPromise = Promise.all(outputs).then(() => undefined);
    if (host.stdin) this.pumpStdin(host.stdin);
  }

  /** Settles when all output has reached the host. */
  get drained(): Promise<void> {
    return this.drainedPromise;
  }

  private async pump(stream: 'stdout' | 'stderr', dest: Writable | undefined): Promise<void> {
    const read = stream === 'stdout' ? this.agent.readStdout.bind(this.agent) : this.agent.readStderr.bind(this.agent);
    for (;;) {
      let data: Uint8Array;
      try {
        data = await read(this.containerId, this.execId, READ_CHUNK);
      } catch (err) {
        // The process is gone from the agent or the channel closed: nothing more will come.
        this.log.debug({ stream, err: (err as Error).message }, 'output stream ended with an error');
        return;
      }
      if (data.length === 0) return;
      // With no host end the output is still read, so the container never blocks on a full pipe.
      if (dest) await write(dest, data);
    }
  }

  private pumpStdin(src: Readable): void {
    let chain = Promise.resolve();
    src.on('data', (chunk: Buffer) => {
      src.pause();
      chain = chain.then(() => this.forward(chunk)).then(() => {
        if (!this.stdinDone) src.resume();
      });
    });
    src.once('end', () => void chain.then(() => this.sendStdinEof()));
    src.once('error', () => void chain.then(() => this.sendStdinEof()));
  }

  private async forward(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length && !this.stdinDone) {
      const piece = chunk.subarray(offset, offset + WRITE_CHUNK);
      try {
        const n = await this.agent.writeStdin(this.containerId, this.execId, piece);
        offset += n > 0 ? n : piece.length;
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'stdin write failed; stdin closed');
        this.stdinDone = true;
      }
    }
  }

  private async sendStdinEof(): Promise<void> {
    if (this.stdinDone) return;
    this.stdinDone = true;
    await this.agent.closeStdin(this.containerId, this.execId).catch((err: Error) => this.log.debug({ err: err.message }, 'CloseStdin failed'));
  }

  /**
   * CloseIO(stdin): drop the shim's writer so the FIFO reaches EOF once the client closes too; the
   * pump then sends CloseStdin after the last byte. Without host stdin, CloseStdin goes at once.
   */
  async closeStdin(): Promise<void> {
    if (this.host.stdin) this.host.releaseStdin();
    else await this.sendStdinEof();
  }

  /** Closes the host ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stdinDone = true;
    this.host.close();
  }
}
