import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../framework/logging';
import { hookState, hooksOf, NETNS_ANNOTATION, runCreateHooks, runHooks } from './hooks';
import type { OciSpec } from './spec';

describe('OCI hooks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-hooks-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const sh = (script: string, extra: { env?: string[]; timeout?: number } = {}) => ({ path: '/bin/sh', args: ['sh', '-c', script], ...extra });

  it('reads the host hook kinds from the spec, dropping malformed entries', () => {
    const spec = { hooks: { createRuntime: [{ path: '/bin/true' }, { path: 'relative' }, { args: [] }], poststop: 'nope' } } as unknown as OciSpec;
    expect(hooksOf(spec, 'createRuntime')).toEqual([{ path: '/bin/true' }]);
    expect(hooksOf(spec, 'poststop')).toEqual([]);
    expect(hooksOf({}, 'prestart')).toEqual([]);
  });

  it('gives each hook the state on stdin, its argv and only its environment; the netns goes in an annotation', async () => {
    const spec: OciSpec = {
      ociVersion: '1.3.0',
      annotations: { 'nerdctl/namespace': 'nx' },
      hooks: {
        prestart: [sh(`cat > ${dir}/prestart.json`)],
        createRuntime: [sh(`echo "$0 $1 $PATH $HOME" > ${dir}/env; cat > ${dir}/state.json`, { env: ['PATH=/a', 'PATH=/bin:/usr/bin'] })],
      },
    };
    const state = hookState(spec, { id: 'c1', bundle: '/b', status: 'creating', pid: 0, netnsPath: '/run/x/netns' });
    await runCreateHooks(spec, state, silentLogger());
    expect(JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'))).toEqual({
      ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 0, bundle: '/b',
      annotations: { 'nerdctl/namespace': 'nx', [NETNS_ANNOTATION]: '/run/x/netns' },
    });
    expect(readFileSync(path.join(dir, 'prestart.json'), 'utf8')).toBe(readFileSync(path.join(dir, 'state.json'), 'utf8'));
    expect(readFileSync(path.join(dir, 'env'), 'utf8')).toBe('sh  /bin:/usr/bin \n');
  });

  it('stops at the first failing hook and says why', async () => {
    const state = hookState({}, { id: 'c1', bundle: '/b', status: 'stopped', pid: 7 });
    await expect(runHooks([sh('echo no network >&2; exit 3'), sh(`touch ${dir}/second`)], state, silentLogger())).rejects.toThrow('exited 3: no network');
    expect(() => readFileSync(path.join(dir, 'second'))).toThrow();
  });

  it('kills a hook that outlives its timeout', async () => {
    const state = hookState({}, { id: 'c1', bundle: '/b', status: 'creating', pid: 0 });
    await expect(runHooks([sh('sleep 30', { timeout: 1 })], state, silentLogger())).rejects.toThrow('timed out');
  });
});
