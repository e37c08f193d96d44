import { codecs, ContainerdTypeUrl } from '@kata-ts/protocol/containerd';
import { parseStartInput, startReply } from './bootstrap';

const options = { type_url: ContainerdTypeUrl.RuntimeOptions, value: codecs.runtimeOptions.encode({ configPath: '/etc/x.toml' }) };

describe('start stdin', () => {
  it('is legacy and empty with nothing on stdin', () => {
    expect(parseStartInput(new Uint8Array(0), 'id', 'ns')).toEqual({ protocol: 'legacy' });
  });

  it('reads the legacy runtime-options Any (containerd 1.6-2.2)', () => {
    const input = parseStartInput(codecs.any.encode(options), 'id', 'ns');
    expect(input.protocol).toBe('legacy');
    expect(input.options?.type_url).toBe(ContainerdTypeUrl.RuntimeOptions);
  });

  it('reads BootstrapParams (2.3+) only when id and namespace match the flags', () => {
    const params = codecs.bootstrapParams.encode({
      instanceId: 'id', namespace: 'ns', logLevel: -4, containerdTtrpcAddress: '/run/c.sock.ttrpc', socketDir: '/run/c/s', extensions: [{ value: options }],
    });
    const input = parseStartInput(params, 'id', 'ns');
    expect(input).toMatchObject({ protocol: 'bootstrap', ttrpcAddress: '/run/c.sock.ttrpc', socketDir: '/run/c/s', debug: true });
    expect(input.options?.type_url).toBe(ContainerdTypeUrl.RuntimeOptions);
    expect(parseStartInput(params, 'other', 'ns').protocol).toBe('legacy');
  });

  it('answers a bootstrap start with a BootstrapResult for task API v3, a legacy start with the bare address', () => {
    const address = 'unix:///run/containerd/s/abc';
    expect(startReply(address, { protocol: 'legacy' })).toBe(address);
    const reply = startReply(address, { protocol: 'bootstrap' });
    expect(typeof reply).not.toBe('string');
    expect(codecs.bootstrapResult.decode(reply as Uint8Array)).toMatchObject({ version: 3, address, protocol: 'ttrpc' });
  });

  it('refuses stdin that is neither BootstrapParams for this shim nor an Any, naming the problem', () => {
    expect(() => parseStartInput(Buffer.from('\xff\xff\xff garbage'), 'id', 'ns')).toThrow(/unknown start protocol/);
    expect(() => parseStartInput(Buffer.from([0x0a, 0x00]), 'id', 'ns')).toThrow(/neither containerd's BootstrapParams for id "id"/);
  });
});
