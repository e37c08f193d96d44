import { codecs, ContainerdTypeUrl } from '@kata-ts/protocol/containerd';
import { RUNTIME_OPTIONS_ENV, runtimeOptionsEnvValue, runtimeOptionsFromEnv } from './start';

describe('runtime options handed from start to the daemon', () => {
  it('round-trips the Any through the environment', () => {
    const options = { type_url: ContainerdTypeUrl.RuntimeOptions, value: codecs.runtimeOptions.encode({ configPath: '/etc/kata-ts/x.toml' }) };
    const back = runtimeOptionsFromEnv({ [RUNTIME_OPTIONS_ENV]: runtimeOptionsEnvValue(options) });
    expect(back?.type_url).toBe(ContainerdTypeUrl.RuntimeOptions);
    expect(codecs.runtimeOptions.decode(back?.value ?? new Uint8Array()).configPath).toBe('/etc/kata-ts/x.toml');
  });

  it('is absent when unset or unreadable', () => {
    expect(runtimeOptionsFromEnv({})).toBeUndefined();
    expect(runtimeOptionsFromEnv({ [RUNTIME_OPTIONS_ENV]: Buffer.from([0xff, 0xff, 0xff]).toString('base64') })).toBeUndefined();
  });
});
