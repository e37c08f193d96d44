// Hostile input: every bad request is answered with the right status and leaves nothing behind,
// in particular nothing written or mounted outside the allowed roots.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Code, MessageType } from 'ttrpc-ts';
import { describeNeeding } from '../../../e2e/harness/host-requirements';
import { hostAgentSupported, HostAgent, startHostAgent } from './harness/agent-host';
import { makeBusyboxRootfs } from './harness/rootfs';
import { busyboxSpec } from './harness/spec';

jest.setTimeout(60_000);

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

describeNeeding(hostAgentSupported(), 'agent: hostile input', () => {
  let h: HostAgent;
  const code = (c: Code) => expect.objectContaining({ code: c });
  const file = (p: string, data: string, extra: Partial<{ offset: number; fileSize: number; fileMode: number }> = {}) => ({
    path: p, fileSize: extra.fileSize ?? data.length, fileMode: extra.fileMode ?? (S_IFREG | 0o644), dirMode: 0o755,
    uid: -1, gid: -1, offset: extra.offset ?? 0, data: Buffer.from(data),
  });
  const nothingOutside = () => expect(readdirSync(h.outside)).toEqual(['target']);
  const noBundles = () => expect(readdirSync(path.join(h.stateDir, 'containers')).sort()).toEqual(['good']);

  beforeAll(async () => {
    h = await startHostAgent();
    writeFileSync(path.join(h.outside, 'target'), 'original');
    await h.agent.createSandbox({ sandboxId: 'sbx', hostname: 'pod' });
    makeBusyboxRootfs(path.join(h.sharedDir, 'good', 'rootfs'));
    await h.agent.createContainer({ containerId: 'good', execId: 'good', OCI: busyboxSpec(['sleep', '1000']) });
    await h.agent.startContainer({ containerId: 'good' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  describe('CopyFile', () => {
    it('writes inside the share, in chunks, and makes directories and symlinks', async () => {
      const p = path.join(h.sharedDir, 'cfg', 'a.conf');
      await h.agent.copyFile(file(p, 'hello', { fileSize: 11 }));
      expect(existsSync(p)).toBe(false);
      await h.agent.copyFile(file(p, ' world', { fileSize: 11, offset: 5 }));
      expect(readFileSync(p, 'utf8')).toBe('hello world');
      await h.agent.copyFile(file(path.join(h.sharedDir, 'dir1'), '', { fileMode: S_IFDIR | 0o700 }));
      await h.agent.copyFile(file(path.join(h.sharedDir, 'ln'), 'cfg/a.conf', { fileMode: S_IFLNK | 0o777, fileSize: 10 }));
      expect(readFileSync(path.join(h.sharedDir, 'ln'), 'utf8')).toBe('hello world');
    });

    it.each([
      ['a relative path', 'relative/file'],
      ['a path with ..', '/SHARED/../../outside/target'],
      ['an absolute path outside the roots', '/OUTSIDE/target'],
      ['/etc/passwd', '/etc/passwd'],
      ['the root itself', '/SHARED'],
    ])('refuses %s with INVALID_ARGUMENT', async (_what, p) => {
      const target = p.replace('/SHARED', h.sharedDir).replace('/OUTSIDE', h.outside);
      await expect(h.agent.copyFile(file(target, 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      expect(readFileSync(path.join(h.outside, 'target'), 'utf8')).toBe('original');
      nothingOutside();
    });

    it('does not follow a symlinked directory out of the share', async () => {
      symlinkSync(h.outside, path.join(h.sharedDir, 'escape'));
      await expect(h.agent.copyFile(file(path.join(h.sharedDir, 'escape', 'x'), 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.copyFile(file(path.join(h.sharedDir, 'escape', 'sub', 'x'), 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      nothingOutside();
    });

    it('does not follow a symlink it created itself', async () => {
      await h.agent.copyFile(file(path.join(h.sharedDir, 'evil'), h.outside, { fileMode: S_IFLNK | 0o777 }));
      await expect(h.agent.copyFile(file(path.join(h.sharedDir, 'evil', 'target'), 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      nothingOutside();
      expect(readFileSync(path.join(h.outside, 'target'), 'utf8')).toBe('original');
    });

    it('refuses a file name that is a symlink out of the share', async () => {
      symlinkSync(path.join(h.outside, 'target'), path.join(h.sharedDir, 'victim'));
      await expect(h.agent.copyFile(file(path.join(h.sharedDir, 'victim'), 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      expect(readFileSync(path.join(h.outside, 'target'), 'utf8')).toBe('original');
    });

    it('refuses a planted <name>.tmp symlink', async () => {
      symlinkSync(path.join(h.outside, 'target'), path.join(h.sharedDir, 'planted.tmp'));
      await expect(h.agent.copyFile(file(path.join(h.sharedDir, 'planted'), 'pwned'))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      expect(readFileSync(path.join(h.outside, 'target'), 'utf8')).toBe('original');
    });

    it('refuses oversized and inconsistent chunks', async () => {
      const p = path.join(h.sharedDir, 'big');
      await expect(h.agent.copyFile(file(p, 'xxxx', { fileSize: 2 }))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.copyFile(file(p, 'x', { fileSize: 10, offset: 10 }))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.copyFile(file(p, 'x', { fileSize: 2 ** 40 }))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.copyFile(file(p, 'x', { offset: -1 }))).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      expect(existsSync(p)).toBe(false);
      expect(existsSync(`${p}.tmp`)).toBe(false);
    });
  });

  describe('storages', () => {
    const eph = (mountPoint: string, driver = 'ephemeral') => ({ driver, source: 'tmpfs', fstype: 'tmpfs', options: ['size=1m'], mountPoint });
    const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8');

    it.each([
      ['..', '/KATA/sandbox/../../outside/m'],
      ['an absolute path outside the roots', '/OUTSIDE/m'],
      ['a relative path', 'sandbox/m'],
      ['a symlink out of the roots', '/KATA/sandbox/link/m'],
    ])('refuses a mount point with %s', async (_what, p) => {
      mkdirSync(path.join(h.kataRoot, 'sandbox'), { recursive: true });
      if (!existsSync(path.join(h.kataRoot, 'sandbox/link'))) symlinkSync(h.outside, path.join(h.kataRoot, 'sandbox/link'));
      const mountPoint = p.replace('/KATA', h.kataRoot).replace('/OUTSIDE', h.outside);
      makeBusyboxRootfs(path.join(h.sharedDir, 'st1', 'rootfs'));
      await expect(h.agent.createContainer({ containerId: 'st1', execId: 'st1', OCI: busyboxSpec(['true']), storages: [eph(mountPoint)] }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      nothingOutside();
      expect(mounted()).not.toContain(h.outside);
      noBundles();
    });

    it('refuses unknown drivers and bad sources', async () => {
      const mp = path.join(h.kataRoot, 'sandbox', 'x');
      await expect(h.agent.createContainer({ containerId: 'st2', execId: 'st2', OCI: busyboxSpec(['true']), storages: [eph(mp, 'nfs')] }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      const bad9p = { driver: '9p', source: '../x', fstype: '9p', options: [], mountPoint: mp };
      await expect(h.agent.createContainer({ containerId: 'st2', execId: 'st2', OCI: busyboxSpec(['true']), storages: [bad9p] }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      const badBlk = { driver: 'mmioblk', source: '/dev/../etc/passwd', fstype: 'ext4', options: [], mountPoint: mp };
      await expect(h.agent.createContainer({ containerId: 'st2', execId: 'st2', OCI: busyboxSpec(['true']), storages: [badBlk] }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      noBundles();
    });

    it('unmounts what it mounted when a later storage of the same request fails', async () => {
      const ok = path.join(h.kataRoot, 'sandbox', 'ok');
      makeBusyboxRootfs(path.join(h.sharedDir, 'st3', 'rootfs'));
      await expect(h.agent.createContainer({ containerId: 'st3', execId: 'st3', OCI: busyboxSpec(['true']), storages: [eph(ok), eph('/etc/x')] }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await new Promise((r) => setTimeout(r, 100));
      // The agent runs in its own mount namespace: look there.
      expect(readFileSync(`/proc/${h.proc.pid}/mountinfo`, 'utf8')).not.toContain(ok);
      noBundles();
    });

    it('mounts a valid ephemeral storage for a container and unmounts it on removal', async () => {
      const mp = path.join(h.kataRoot, 'sandbox', 'ephemeral', 'scratch');
      makeBusyboxRootfs(path.join(h.sharedDir, 'st4', 'rootfs'));
      await h.agent.createContainer({ containerId: 'st4', execId: 'st4', OCI: busyboxSpec(['true']), storages: [eph(mp)] });
      expect(readFileSync(`/proc/${h.proc.pid}/mountinfo`, 'utf8')).toContain(mp);
      await h.agent.removeContainer({ containerId: 'st4' });
      expect(readFileSync(`/proc/${h.proc.pid}/mountinfo`, 'utf8')).not.toContain(mp);
    });
  });

  describe('container specs', () => {
    it('refuses a rootfs outside the roots, through a symlink, or missing', async () => {
      await expect(h.agent.createContainer({ containerId: 'r1', execId: 'r1', OCI: busyboxSpec(['true'], { rootPath: '/' }) })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      mkdirSync(path.join(h.sharedDir, 'r2'), { recursive: true });
      symlinkSync(h.outside, path.join(h.sharedDir, 'r2', 'rootfs'));
      await expect(h.agent.createContainer({ containerId: 'r2', execId: 'r2', OCI: busyboxSpec(['true']) })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.createContainer({ containerId: 'r3', execId: 'r3', OCI: busyboxSpec(['true']) })).rejects.toEqual(code(Code.NOT_FOUND));
      noBundles();
    });

    it('refuses bind mounts from outside the roots', async () => {
      makeBusyboxRootfs(path.join(h.sharedDir, 'b1', 'rootfs'));
      const spec = busyboxSpec(['true'], { mounts: [{ destination: '/host', source: '/etc', type: 'bind', options: ['rbind'] }] });
      await expect(h.agent.createContainer({ containerId: 'b1', execId: 'b1', OCI: spec })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      const spec2 = busyboxSpec(['true'], { mounts: [{ destination: '/../x', source: 'tmpfs', type: 'tmpfs', options: [] }] });
      await expect(h.agent.createContainer({ containerId: 'b1', execId: 'b1', OCI: spec2 })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      noBundles();
    });

    it('cleans up after crun refuses a container', async () => {
      makeBusyboxRootfs(path.join(h.sharedDir, 'bad', 'rootfs'));
      await expect(h.agent.createContainer({ containerId: 'bad', execId: 'bad', OCI: busyboxSpec(['/no/such/binary']) })).rejects.toBeDefined();
      noBundles();
      expect(readdirSync(path.join(h.stateDir, 'crun')).filter((f) => f === 'bad')).toEqual([]);
    });
  });

  describe('ids', () => {
    it.each(['a/b', '../x', '..', '', '-x', 'x'.repeat(200), 'a b', 'a\0b'])('refuses container id %j', async (id) => {
      await expect(h.agent.createContainer({ containerId: id, execId: id, OCI: busyboxSpec(['true']) })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.startContainer({ containerId: id })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      noBundles();
    });

    it('refuses exec ids with a slash', async () => {
      await expect(h.agent.execProcess({ containerId: 'good', execId: '../../x', process: busyboxSpec(['true']).Process }))
        .rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.waitProcess({ containerId: 'good', execId: 'a/b' })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
    });

    it('answers NOT_FOUND for unknown containers and processes', async () => {
      await expect(h.agent.startContainer({ containerId: 'nope' })).rejects.toEqual(code(Code.NOT_FOUND));
      await expect(h.agent.removeContainer({ containerId: 'nope' })).rejects.toEqual(code(Code.NOT_FOUND));
      await expect(h.agent.signalProcess({ containerId: 'nope', execId: '', signal: 9 })).rejects.toEqual(code(Code.NOT_FOUND));
      await expect(h.agent.waitProcess({ containerId: 'good', execId: 'nope' })).rejects.toEqual(code(Code.NOT_FOUND));
      await expect(h.agent.readStdout({ containerId: 'good', execId: 'nope', len: 10 })).rejects.toEqual(code(Code.NOT_FOUND));
      await expect(h.agent.statsContainer({ containerId: 'nope' })).rejects.toEqual(code(Code.NOT_FOUND));
    });

    it('answers ALREADY_EXISTS for duplicates', async () => {
      await expect(h.agent.createContainer({ containerId: 'good', execId: 'good', OCI: busyboxSpec(['true']) })).rejects.toEqual(code(Code.ALREADY_EXISTS));
      await expect(h.agent.createSandbox({ sandboxId: 'sbx' })).rejects.toEqual(code(Code.ALREADY_EXISTS));
      await h.agent.execProcess({ containerId: 'good', execId: 'dup', process: busyboxSpec(['sleep', '1000']).Process });
      await expect(h.agent.execProcess({ containerId: 'good', execId: 'dup', process: busyboxSpec(['true']).Process })).rejects.toEqual(code(Code.ALREADY_EXISTS));
      await h.agent.signalProcess({ containerId: 'good', execId: 'dup', signal: 9 });
      expect((await h.agent.waitProcess({ containerId: 'good', execId: 'dup' })).status).toBe(137);
    });

    it('refuses bad signals, reads and window sizes', async () => {
      await expect(h.agent.signalProcess({ containerId: 'good', execId: '', signal: 0 })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.signalProcess({ containerId: 'good', execId: '', signal: 1000 })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.readStdout({ containerId: 'good', execId: '', len: 0 })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
      await expect(h.agent.ttyWinResize({ containerId: 'good', execId: '', row: 70000, column: 1 })).rejects.toEqual(code(Code.INVALID_ARGUMENT));
    });
  });

  describe('oversized and garbled frames', () => {
    it('closes the connection at a header over 4 MiB (no conforming client sends one) and keeps serving its other connections', async () => {
      const sock = net.connect(h.socket);
      await new Promise((r) => sock.once('connect', r));
      const closed = new Promise((r) => sock.once('close', r));
      sock.on('error', () => undefined);
      // A header that announces more than the limit, followed by that many bytes.
      const big = Buffer.alloc((4 << 20) + 16);
      const header = Buffer.alloc(10);
      header.writeUInt32BE(big.length, 0);
      header.writeUInt32BE(3, 4);
      header[8] = MessageType.Request;
      sock.write(header);
      sock.write(big);
      await closed;
      // The agent carries on: the harness's own connection is still served.
      expect((await h.health.check({ service: '' })).status).toBe(1);
    });

    it('refuses a WriteStdin larger than a frame and still takes 1 MiB writes', async () => {
      await h.agent.execProcess({ containerId: 'good', execId: 'sink', process: busyboxSpec(['sh', '-c', 'cat > /dev/null']).Process });
      await expect(h.agent.writeStdin({ containerId: 'good', execId: 'sink', data: Buffer.alloc(5 << 20) })).rejects.toEqual(code(Code.RESOURCE_EXHAUSTED));
      for (let i = 0; i < 4; i++) {
        expect((await h.agent.writeStdin({ containerId: 'good', execId: 'sink', data: Buffer.alloc(1 << 20) })).len).toBe(1 << 20);
      }
      await h.agent.closeStdin({ containerId: 'good', execId: 'sink' });
      expect((await h.agent.waitProcess({ containerId: 'good', execId: 'sink' })).status).toBe(0);
    });
  });
});
