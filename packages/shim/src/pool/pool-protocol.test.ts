import { LineReader, MAX_POOL_LINE, parsePooledVm, parsePoolRequest } from './pool-protocol';

const VM = {
  qemuPid: 4242,
  name: 'sandbox-pool-mx7x-0',
  dir: '/run/kata-ts/vm-cache/pool-mx7x-0',
  qmpSocket: '/run/kata-ts/vm-cache/pool-mx7x-0/vm/qmp.sock',
  agentSocket: '/run/kata-ts/vm-cache/pool-mx7x-0/vm/agent.sock',
  key: 'd0da33ab9fee7343333cfb1969d45370',
};

describe('pool protocol', () => {
  it.each([
    ['{"op":"status"}', { op: 'status' }],
    ['{"op":"take","sandboxId":"abc-1"}', { op: 'take', sandboxId: 'abc-1' }],
    ['{"op":"lease","vm":"sandbox-pool-mx7x-0"}', { op: 'lease', vm: 'sandbox-pool-mx7x-0' }],
  ])('parses %s', (line, want) => {
    expect(parsePoolRequest(line)).toEqual(want);
  });

  it.each([
    ['not json', 'not JSON'],
    ['{"op":"take","sandboxId":"../etc"}', 'malformed'],
    ['{"op":"take"}', 'malformed'],
    ['{"op":"lease","vm":"sandbox-other"}', 'malformed'],
    ['{"op":"destroy"}', 'malformed'],
    ['null', 'malformed'],
  ])('refuses %s with an error', (line, says) => {
    const r = parsePoolRequest(line);
    expect('error' in r && r.error).toContain(says);
  });

  it('accepts a well-formed VM and refuses bad fields', () => {
    expect(parsePooledVm(VM)).toEqual(VM);
    expect(parsePooledVm({ ...VM, qemuPid: 1 })).toBeUndefined();
    expect(parsePooledVm({ ...VM, qemuPid: '4242' })).toBeUndefined();
    expect(parsePooledVm({ ...VM, name: 'sandbox-x' })).toBeUndefined();
    expect(parsePooledVm({ ...VM, dir: 'relative/dir' })).toBeUndefined();
    expect(parsePooledVm({ ...VM, agentSocket: '/run/../etc/agent.sock' })).toBeUndefined();
    expect(parsePooledVm({ ...VM, key: '' })).toBeUndefined();
    expect(parsePooledVm(null)).toBeUndefined();
  });

  it('splits lines across chunks and refuses an endless line without keeping it', () => {
    const lines: string[] = [];
    const errors: Error[] = [];
    const r = new LineReader((l) => lines.push(l), (e) => errors.push(e));
    r.push('{"op":"st');
    r.push('atus"}\n\n{"op"');
    r.push(':"status"}\n');
    expect(lines).toEqual(['{"op":"status"}', '{"op":"status"}']);
    r.push('x'.repeat(MAX_POOL_LINE + 1));
    expect(errors).toHaveLength(1);
    r.push('{"op":"status"}\n');
    expect(lines).toHaveLength(3);
  });
});
