import { PassThrough } from 'node:stream';
import { CancelledError } from '../errors';
import { OutputBuffer } from './output-buffer';

describe('OutputBuffer', () => {
  it('returns what is buffered up to len, then EOF as an empty buffer', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(src, 1024);
    src.write('hello ');
    src.write('world');
    await new Promise((r) => setImmediate(r));
    expect((await b.read(3)).toString()).toBe('hel');
    expect((await b.read(100)).toString()).toBe('lo world');
    const pending = b.read(10);
    src.end('!');
    expect((await pending).toString()).toBe('!');
    expect((await b.read(10)).length).toBe(0);
    expect(b.isDrained).toBe(true);
  });

  it('pauses the source when full and resumes once half is read', async () => {
    const src = new PassThrough({ highWaterMark: 16 });
    const b = new OutputBuffer(src, 100);
    src.write(Buffer.alloc(60));
    src.write(Buffer.alloc(60));
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(true);
    expect(b.buffered).toBe(120);
    await b.read(30);
    expect(src.isPaused()).toBe(true);
    await b.read(60);
    expect(src.isPaused()).toBe(false);
  });

  it('delivers output written just before the end', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(src, 1 << 20);
    src.end(Buffer.from('last words'));
    await new Promise((r) => setImmediate(r));
    expect((await b.read(100)).toString()).toBe('last words');
    expect((await b.read(100)).length).toBe(0);
  });

  it('cancels a waiting read when its signal aborts', async () => {
    const b = new OutputBuffer(new PassThrough(), 1024);
    const ac = new AbortController();
    const p = b.read(10, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });

  it('a buffer without a source is at EOF', async () => {
    expect((await new OutputBuffer(null, 10).read(10)).length).toBe(0);
  });
});
