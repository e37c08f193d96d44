import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as constants from './constants';
import { loadNative, native, NATIVE_FILE, nativeSearchPath } from './native';

describe('native addon', () => {
  it('is built and loads (run `pnpm -F node-vsock build` if this fails)', () => {
    const b = native();
    expect(typeof b.Poll).toBe('function');
    expect(typeof b.vsockSocket).toBe('function');
    expect(typeof b.sendFds).toBe('function');
  });

  it('agrees with the TypeScript copies of the vsock constants', () => {
    const b = native();
    expect(b.VMADDR_CID_ANY).toBe(constants.VMADDR_CID_ANY);
    expect(b.VMADDR_CID_HYPERVISOR).toBe(constants.VMADDR_CID_HYPERVISOR);
    expect(b.VMADDR_CID_LOCAL).toBe(constants.VMADDR_CID_LOCAL);
    expect(b.VMADDR_CID_HOST).toBe(constants.VMADDR_CID_HOST);
    expect(b.VMADDR_PORT_ANY).toBe(constants.VMADDR_PORT_ANY);
  });

  // Errors created by the addon come from Node's realm, not jest's, so match on name and code.
  it('throws TypeError/RangeError for bad arguments instead of calling the kernel', () => {
    const b = native();
    const invalidType = expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(() => b.read(-1, Buffer.alloc(1))).toThrow(outOfRange);
    expect(() => b.read('3' as unknown as number, Buffer.alloc(1))).toThrow(invalidType);
    expect(() => b.send(0, 'x' as unknown as Buffer)).toThrow(invalidType);
    expect(() => b.vsockBind(0, 2 ** 32, 0)).toThrow(outOfRange);
    expect(() => b.sendFds(0, Buffer.alloc(0), [1])).toThrow(outOfRange);
    expect(() => b.sendFds(0, Buffer.alloc(1), [])).toThrow(outOfRange);
    expect(() => new b.Poll(0, 'nope' as unknown as () => void)).toThrow(invalidType);
  });

  it('returns -errno rather than throwing when a syscall fails', () => {
    const b = native();
    const [a, c] = b.socketPair() as [number, number];
    b.close(c);
    expect(b.close(c)).toBe(-9); // EBADF
    expect(b.read(a, Buffer.alloc(4))).toBe(0); // EOF from the closed peer
    b.close(a);
  });
});

describe('nativeSearchPath', () => {
  it('puts NODE_VSOCK_NATIVE_DIR first, then the package build, then the system directory', () => {
    const dirs = nativeSearchPath({ NODE_VSOCK_NATIVE_DIR: '/opt/x' });
    expect(dirs[0]).toBe('/opt/x');
    expect(dirs[1]).toBe(path.resolve(__dirname, '..', 'build', 'Release'));
    expect(dirs[2]).toBe('/usr/lib/kata-ts/native');
    expect(nativeSearchPath({})).toHaveLength(2);
  });
});

describe('loadNative', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'node-vsock-native-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('says where it looked and how to build when the addon is missing', () => {
    expect(() => loadNative([dir])).toThrow(expect.objectContaining({ code: 'ERR_NODE_VSOCK_NATIVE' }));
    expect(() => loadNative([dir])).toThrow(/pnpm -F node-vsock build/);
    expect(() => loadNative([dir])).toThrow(dir);
  });

  it('reports a broken addon instead of falling through to another copy', () => {
    writeFileSync(path.join(dir, NATIVE_FILE), 'not an ELF file');
    const good = path.dirname(require.resolve('../build/Release/node_vsock.node'));
    expect(() => loadNative([dir, good])).toThrow(/cannot load/);
  });
});
