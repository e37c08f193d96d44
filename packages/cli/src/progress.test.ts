import { formatBytes, Progress, type ProgressStream } from './progress';

/** A stream that records what was written, as a terminal or not. */
function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { text: string } {
  const s = { text: '', isTTY, columns, write: (chunk: string) => void (s.text += chunk) };
  return s;
}

/** What a terminal would show: each \r starts the line over, \x1b[K erases the rest. */
function screen(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of text.split(/(\r|\n|\x1b\[K)/)) {
    if (part === '\r') line = '';
    else if (part === '\n') {
      lines.push(line);
      line = '';
    } else if (part !== '\x1b[K') line += part;
  }
  if (line) lines.push(line);
  return lines;
}

describe('Progress', () => {
  it('on a terminal redraws one line in place with the phase\'s seconds, and leaves only the final line', () => {
    let now = 1_000;
    const stream = fakeStream(true, 200);
    const p = new Progress(stream, { now: () => now, tickMs: 0, prefix: 'ignored on a tty: ' });
    expect(p.tty).toBe(true);
    p.phase('[1/2] booting');
    now += 2_500;
    p.detail('kernel booting');
    expect(screen(stream.text)).toEqual([expect.stringMatching(/^\S \[1\/2\] booting: kernel booting {2}2\.5 s$/)]);
    p.phase('[2/2] saving');
    now += 300;
    p.detail('40% (4 KiB of 10 KiB)');
    expect(screen(stream.text)).toEqual([expect.stringMatching(/^\S \[2\/2\] saving: 40% \(4 KiB of 10 KiB\) {2}0\.3 s$/)]);
    p.done('made in 2.8 s');
    expect(screen(stream.text)).toEqual(['made in 2.8 s']);
    // Every redraw starts over and erases the line; no newline before the end.
    expect(stream.text.split('\n')).toHaveLength(2);
    expect(stream.text.match(/\r\x1b\[K/g)).toHaveLength(5);
  });

  it('moves the spinner and the clock while nothing happens, and stops at the end', async () => {
    const stream = fakeStream(true, 80);
    const p = new Progress(stream, { tickMs: 20 });
    p.phase('booting');
    await new Promise((r) => setTimeout(r, 130));
    const draws = stream.text.split('\r\x1b[K').filter(Boolean);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(new Set(draws.map((d) => d[0])).size).toBeGreaterThan(1); // the spinner turned
    p.clear();
    const after = stream.text.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(stream.text.length).toBe(after);
    expect(stream.text.endsWith('\r\x1b[K')).toBe(true); // cleared for what is printed next
  });

  it('cuts the in-place line to the terminal width (a wrapped line cannot be redrawn), 80 columns when unknown', () => {
    const narrow = fakeStream(true, 30);
    new Progress(narrow, { tickMs: 0 }).phase('a very long phase description that would wrap');
    const shown = screen(narrow.text)[0]!;
    expect([...shown].length).toBeLessThanOrEqual(29);
    expect(shown).toMatch(/…  0\.0 s$/);
    const unknown = fakeStream(true, 0); // a pty nobody sized
    new Progress(unknown, { tickMs: 0 }).phase('x'.repeat(200));
    expect([...screen(unknown.text)[0]!].length).toBe(79);
  });

  it('elsewhere prints plain lines: every phase, the first detail, then details at most every plainDetailMs, forced ones always', () => {
    let now = 0;
    const stream = fakeStream(false);
    const p = new Progress(stream, { now: () => now, prefix: 'factory init: ', plainDetailMs: 1_000 });
    expect(p.tty).toBe(false);
    p.phase('[1/2] booting');
    p.detail('kernel booting');
    p.phase('[2/2] saving');
    p.detail('10%');
    now += 200;
    p.detail('20%'); // too soon: skipped
    now += 900;
    p.detail('50%');
    now += 10;
    p.detail('100%', true);
    p.clear(); // nothing to erase in plain mode
    p.done('made in 1.1 s');
    expect(stream.text).toBe([
      'factory init: [1/2] booting',
      'factory init: [1/2] booting: kernel booting',
      'factory init: [2/2] saving',
      'factory init: [2/2] saving: 10%',
      'factory init: [2/2] saving: 50%',
      'factory init: [2/2] saving: 100%',
      'factory init: made in 1.1 s',
      '',
    ].join('\n'));
    expect(stream.text).not.toMatch(/[\r\x1b]/);
  });

  it('is plain when asked even on a terminal (--json), and in-place when asked on anything', () => {
    const tty = fakeStream(true);
    const plain = new Progress(tty, { tty: false });
    plain.phase('booting');
    expect(tty.text).toBe('booting\n');
    const pipe = fakeStream(false);
    const forced = new Progress(pipe, { tty: true, tickMs: 0 });
    forced.phase('booting');
    forced.clear();
    expect(pipe.text).toMatch(/^\r\x1b\[K\S booting {2}0\.0 s\r\x1b\[K$/);
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal below 10', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(205 * 1024)).toBe('205 KiB');
    expect(formatBytes(512 * 1048576)).toBe('512 MiB');
    expect(formatBytes(3 * 1073741824)).toBe('3.0 GiB');
  });
});
