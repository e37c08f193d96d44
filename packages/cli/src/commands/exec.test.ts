import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ConsoleFrameDecoder, encodeFrame, FrameType, HOST_FRAMES, type ConsoleFrame } from '@kata-ts/protocol/debug-console';
import { execCommand, type Terminal } from './exec';

function collector() {
  const o = { out: '', err: '', write: (t: string) => void (o.out += t), error: (t: string) => void (o.err += t) };
  return o;
}

/** A terminal of streams: raw mode recorded, resize and termination triggered by the test. */
function fakeTerminal() {
  const modes: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => modes.push(raw) });
  const output = Object.assign(new PassThrough(), { rows: 24, columns: 80 });
  let resize = (): void => undefined;
  const term: Terminal = { input, output, onResize: (h) => ((resize = h), () => undefined), onTerminate: () => () => undefined };
  return { term, input, output, modes, resize: () => resize() };
}

describe('kata-ts exec', () => {
  let dir: string;
  let config: string;
  let server: net.Server | undefined;
  const peers: net.Socket[] = [];

  async function writeConfig(enabled: boolean): Promise<void> {
    await fs.writeFile(config, `[agent.kata]\ndebug_console_enabled = ${enabled}\n[runtime]\nstate_dir = "${dir}"\n`);
  }

  /** A running sandbox as the CLI sees one: agent-ctl.sock, a pod container's mount dir, and optionally a console socket. */
  async function sandbox(id: string, console?: (peer: net.Socket) => void): Promise<void> {
    const sb = path.join(dir, 'sbs', id);
    await fs.mkdir(path.join(sb, 'mounts', `${id}-c1`), { recursive: true });
    await fs.writeFile(path.join(sb, 'agent-ctl.sock'), '');
    if (console) {
      server = net.createServer((peer) => {
        peers.push(peer);
        console(peer);
      });
      await new Promise<void>((r) => server!.listen(path.join(sb, 'debug-console.sock'), r));
    }
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-exec-'));
    config = path.join(dir, 'configuration.toml');
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses while debug_console_enabled is off, naming the setting', async () => {
    await writeConfig(false);
    await sandbox('pod1');
    const out = collector();
    expect(await execCommand({ config, sandbox: 'pod1' }, out, fakeTerminal().term)).toBe(2);
    expect(out.err).toMatch(/debug console is disabled: set debug_console_enabled = true in \[agent.kata\]/);
  });

  it('names the running sandboxes for an unknown id, and a VM started without the console', async () => {
    await writeConfig(true);
    await sandbox('pod1');
    const out = collector();
    expect(await execCommand({ config, sandbox: 'pod2' }, out, fakeTerminal().term)).toBe(2);
    expect(out.err).toMatch(/no running sandbox pod2 .*; running: pod1$/m);
    expect(await execCommand({ config, sandbox: '../etc' }, out, fakeTerminal().term)).toBe(2);
    expect(await execCommand({ config, sandbox: 'pod1' }, out, fakeTerminal().term)).toBe(2);
    expect(out.err).toMatch(/pod1 has no debug console/);
  });

  it('runs a session: size, keystrokes, resize and output through frames, the shell\'s status as its own, raw mode restored', async () => {
    await writeConfig(true);
    const seen: ConsoleFrame[] = [];
    await sandbox('pod1', (peer) => {
      const d = new ConsoleFrameDecoder(HOST_FRAMES);
      peer.on('data', (chunk: Buffer) => {
        for (const f of d.push(chunk)) {
          seen.push(f);
          if (f.type === FrameType.OPEN) peer.write(encodeFrame({ type: FrameType.OUTPUT, data: Buffer.from('kata-vm:/# ') }));
          if (f.type === FrameType.INPUT && f.data.toString() === 'exit 3\r') peer.write(encodeFrame({ type: FrameType.EXIT, status: 3 }));
        }
      });
    });
    const t = fakeTerminal();
    const out = collector();
    // A container of the pod names the pod's sandbox.
    const code = execCommand({ config, sandbox: 'pod1-c1' }, out, t.term);
    const prompt = await new Promise<Buffer>((r) => t.output.once('data', r));
    expect(prompt.toString()).toBe('kata-vm:/# ');
    expect(t.modes).toEqual([true]);
    Object.assign(t.output, { rows: 50, columns: 132 });
    t.resize();
    t.input.write('exit 3\r');
    expect(await code).toBe(3);
    expect(t.modes).toEqual([true, false]);
    expect(seen).toEqual([
      { type: FrameType.OPEN, rows: 24, cols: 80 },
      { type: FrameType.RESIZE, rows: 50, cols: 132 },
      { type: FrameType.INPUT, data: Buffer.from('exit 3\r') },
    ]);
    expect(out.err).toBe('');
  });

  it('ends with 255 and restores the terminal when the guest breaks the framing or hangs up', async () => {
    await writeConfig(true);
    await sandbox('pod1', (peer) => peer.write(Buffer.from([FrameType.INPUT, 0, 0, 0, 1, 0x41])));
    const t = fakeTerminal();
    const out = collector();
    expect(await execCommand({ config, sandbox: 'pod1' }, out, t.term)).toBe(255);
    expect(out.err).toMatch(/console frame type 2 not allowed here; session ended/);
    expect(t.modes).toEqual([true, false]);
  });
});
