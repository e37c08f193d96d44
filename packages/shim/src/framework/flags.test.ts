import { parseFlags } from './flags';

describe('parseFlags (Go flag style)', () => {
  it('reads containerd 1.6 start and delete invocations', () => {
    const start = parseFlags(['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', '-debug', 'start']);
    expect(start).toMatchObject({ namespace: 'k8s.io', address: '/run/containerd/containerd.sock', publishBinary: '/usr/bin/containerd', id: 'abc', debug: true, action: 'start' });
    const del = parseFlags(['-namespace', 'default', '-address', '/a', '-publish-binary', '/b', '-id', 'x', '-bundle', '/bundle', 'delete']);
    expect(del).toMatchObject({ bundle: '/bundle', action: 'delete', debug: false });
  });

  it('accepts --name, -name=value and explicit booleans', () => {
    expect(parseFlags(['--namespace=ns', '-id=i', '-debug=false', '--v'])).toMatchObject({ namespace: 'ns', id: 'i', debug: false, version: true, action: '' });
    expect(parseFlags(['-info'])).toMatchObject({ info: true });
  });

  it('ignores unknown flags, with or without values', () => {
    const f = parseFlags(['-namespace', 'ns', '-new-flag', 'value', '-new-bool', '-id', 'x', '-other=1', '-debug-socket', '/s', 'start']);
    expect(f).toMatchObject({ namespace: 'ns', id: 'x', action: 'start' });
    expect(f.ignored).toEqual(['new-flag', 'new-bool', 'other', 'debug-socket']);
    // An unknown flag right before the final action is a boolean, not the action's value.
    expect(parseFlags(['-id', 'x', '-future', 'delete']).action).toBe('delete');
  });

  it('is serve mode without an action, and rejects a string flag without value', () => {
    expect(parseFlags(['-namespace', 'ns', '-id', 'x']).action).toBe('');
    expect(() => parseFlags(['-namespace'])).toThrow(/needs an argument/);
    expect(() => parseFlags(['-debug=maybe'])).toThrow(/invalid boolean/);
  });
});
