import { crioDropinName, otherDefinitions, planCrioDeploy, renderCrioDropin } from './crio-dropin';
import { parseToml } from './toml-tree';

const settings = { handler: 'kata', runtimePath: '/usr/local/bin/containerd-shim-kata-v2', kataConfig: '/usr/share/defaults/kata-ts/configuration.toml' };

describe('CRI-O drop-in', () => {
  it('defines the handler with the keys kata-deploy writes', () => {
    expect(renderCrioDropin(settings)).toBe(`# kata-ts deploy: runtime handler "kata" for Kata Containers (kata-ts); \`kata-ts undeploy crio\` removes this file
[crio.runtime.runtimes.kata]
runtime_path = "/usr/local/bin/containerd-shim-kata-v2"
runtime_type = "vm"
runtime_root = "/run/vc"
runtime_config_path = "/usr/share/defaults/kata-ts/configuration.toml"
privileged_without_host_devices = true
`);
    expect(parseToml(renderCrioDropin(settings))).toEqual({ crio: { runtime: { runtimes: { kata: expect.objectContaining({ runtime_type: 'vm' }) } } } });
    expect(crioDropinName('kata')).toBe('50-kata-ts.toml');
    expect(crioDropinName('kata-tcg')).toBe('50-kata-ts-kata-tcg.toml');
  });

  it('creates, leaves alone, or replaces the file; refuses to replace a malformed one', () => {
    const text = renderCrioDropin(settings);
    expect(planCrioDeploy('f', undefined, settings).change).toBe('create');
    expect(planCrioDeploy('f', text, settings).change).toBe('none');
    expect(planCrioDeploy('f', text.replace('/run/vc', '/run/kata'), settings).change).toBe('replace');
    expect(() => planCrioDeploy('/etc/crio/crio.conf.d/50-kata-ts.toml', '[crio\n', settings)).toThrow(/50-kata-ts\.toml is not valid TOML/);
  });

  it('finds other drop-ins that define the handler, before and after ours', () => {
    const kata = '[crio.runtime.runtimes.kata]\nruntime_type = "vm"\n';
    const files = [{ name: '10-old-kata.toml', text: kata }, { name: '99-override.toml', text: kata }, { name: '20-other.toml', text: '[crio.runtime]\n' },
      { name: '50-kata-ts.toml', text: kata }, { name: '30-broken.toml', text: '[' }];
    expect(otherDefinitions('kata', '50-kata-ts.toml', files)).toEqual({ earlier: ['10-old-kata.toml'], later: ['99-override.toml'] });
  });
});
