/**
 * Turns a child process's output stream into log lines: split on newlines, each line capped, fed
 * to a (rate-limited) sink, and the last few kept for error messages. Memory stays bounded.
 */
import type { Readable } from 'node:stream';

const LINE_MAX = 1024;
const TAIL_LINES = 20;

export class LineTail {
  private partial = '';
  private readonly tail: string[] = [];

  constructor(stream: Readable | null | undefined, private readonly sink: (line: string) => void, private readonly lineMax = LINE_MAX) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => this.push(chunk));
    stream?.on('end', () => this.flush());
  }

  private push(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = (lines.pop() ?? '').slice(0, this.lineMax);
    for (const line of lines) this.emit(line);
  }

  private flush(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private emit(raw: string): void {
    const line = raw.replace(/\r$/, '').slice(0, this.lineMax);
    if (!line.trim()) return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.sink(line);
  }

  /** The last lines seen, oldest first. */
  lines(): string[] {
    return [...this.tail];
  }
}
