import { planContainerdDeploy, planContainerdUndeploy, type ContainerdDeployInput } from './containerd-edit';
import { handlerPath, type ContainerdSchema } from './containerd-schema';
import { parseContainerdVersion } from './containerd-version';
import { DeployError } from './errors';
import { CONTAINERD_V2, CONTAINERD_V2_WITH_KATA, CONTAINERD_V3 } from './test-configs';
import { getPath, parseToml, sameValue, withoutPath } from './toml-tree';

const KATA_CONFIG = '/usr/share/defaults/kata-ts/configuration.toml';
const settings = { handler: 'kata', kataConfig: KATA_CONFIG, sandboxer: 'podsandbox' as const };
const deploy = (text: string | undefined, extra: Partial<ContainerdDeployInput> = {}) =>
  planContainerdDeploy({ file: '/etc/containerd/config.toml', text, settings, ...extra });
const v = (text: string) => parseContainerdVersion(text);

/** The handler's table as the file now says, and the rest of the document without it. */
function split(text: string, schema: ContainerdSchema) {
  const doc = parseToml(text);
  return { handler: getPath(doc, handlerPath(schema, 'kata')), rest: withoutPath(doc, handlerPath(schema, 'kata')) };
}

const V2_HANDLER = {
  runtime_type: 'io.containerd.kata.v2',
  privileged_without_host_devices: true,
  pod_annotations: ['io.katacontainers.*'],
  options: { ConfigPath: KATA_CONFIG },
};

describe('planContainerdDeploy', () => {
  it('adds the handler to a version 2 config and keeps every other setting and every comment', () => {
    const plan = deploy(CONTAINERD_V2);
    expect(plan).toMatchObject({ change: 'add', schema: 2, rewritten: false, table: 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata' });
    const after = split(plan.text, 2);
    expect(sameValue(after.handler, V2_HANDLER)).toBe(true);
    expect(sameValue(after.rest, split(CONTAINERD_V2, 2).rest)).toBe(true);
    // Nothing of the old text moved: it is a prefix of the new one, followed by our block.
    expect(plan.text.startsWith(CONTAINERD_V2)).toBe(true);
    expect(plan.text.slice(CONTAINERD_V2.length)).toBe(`
# kata-ts deploy: runtime handler "kata" for Kata Containers (kata-ts); \`kata-ts undeploy containerd\` removes it
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
  privileged_without_host_devices = true
  pod_annotations = ["io.katacontainers.*"]
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]
  ConfigPath = "${KATA_CONFIG}"
`);
  });

  it('adds a version 3 handler with its sandboxer under io.containerd.cri.v1.runtime', () => {
    const plan = deploy(CONTAINERD_V3, { settings: { ...settings, sandboxer: 'shim' } });
    expect(plan).toMatchObject({ change: 'add', schema: 3, table: 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata' });
    const after = split(plan.text, 3);
    expect(sameValue(after.handler, { ...V2_HANDLER, sandboxer: 'shim' })).toBe(true);
    expect(sameValue(after.rest, split(CONTAINERD_V3, 3).rest)).toBe(true);
    expect(plan.text).toContain('  sandboxer = "shim"\n');
  });

  it('uses the version 1 tables when the file has no version key (containerd 1.x)', () => {
    const plan = deploy('root = "/var/lib/containerd"\n[plugins.cri]\n  sandbox_image = "pause:3.9"\n', { containerd: v('1.7.27') });
    expect(plan).toMatchObject({ change: 'add', schema: 1, table: 'plugins.cri.containerd.runtimes.kata' });
    expect(sameValue(split(plan.text, 1).handler, V2_HANDLER)).toBe(true);
  });

  it('creates a file for the installed containerd when there is none: version 3 for 2.x, 2 for 1.x or unknown', () => {
    const v3 = deploy(undefined, { containerd: v('containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7') });
    expect(v3).toMatchObject({ change: 'create', schema: 3 });
    expect(parseToml(v3.text)['version']).toBe(3n);
    expect(split(v3.text, 3).handler).toMatchObject({ sandboxer: 'podsandbox' });
    expect(deploy(undefined, { containerd: v('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1') })).toMatchObject({ schema: 2 });
    const unknown = deploy(undefined);
    expect(unknown.schema).toBe(2);
    expect(unknown.notes.join()).toMatch(/version is unknown/);
    // Only the version, runc as built in, and our handler: containerd's defaults hold for everything else.
    expect(Object.keys(parseToml(unknown.text))).toEqual(['version', 'plugins']);
    expect(Object.keys(getPath(parseToml(unknown.text), ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']) as object)).toEqual(['runc', 'kata']);
  });

  it('spells out the built-in runc when the file lists no runtimes, as containerd would otherwise lose it', () => {
    // Debian 12's /etc/containerd/config.toml (package containerd 1.6.20).
    const debian = 'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n    [plugins."io.containerd.grpc.v1.cri".cni]\n'
      + '      bin_dir = "/usr/lib/cni"\n      conf_dir = "/etc/cni/net.d"\n  [plugins."io.containerd.internal.v1.opt"]\n    path = "/var/lib/containerd/opt"\n';
    const plan = deploy(debian);
    expect(plan.notes.join()).toMatch(/built-in runtime "runc"/);
    const runtimes = getPath(parseToml(plan.text), ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']);
    expect(sameValue(runtimes, { runc: { runtime_type: 'io.containerd.runc.v2' }, kata: V2_HANDLER })).toBe(true);
    expect(planContainerdUndeploy({ file: 'f', text: plan.text, handler: 'kata' }).text).toBe(debian);
    // Once another runtime sits beside it, runc has to stay when kata goes.
    const more = `${plan.text}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]\n  runtime_type = "io.containerd.runsc.v1"\n`;
    const kept = getPath(parseToml(planContainerdUndeploy({ file: 'f', text: more, handler: 'kata' }).text), ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']);
    expect(Object.keys(kept as object)).toEqual(['runc', 'gvisor']);
    expect(split(deploy(undefined, { containerd: v('2.0.1') }).text, 3).rest).toMatchObject({
      plugins: { 'io.containerd.cri.v1.runtime': { containerd: { runtimes: { runc: { runtime_type: 'io.containerd.runc.v2', sandboxer: 'podsandbox' } } } } },
    });
  });

  it('treats a file with nothing but comments like a missing one, keeping the comments', () => {
    const plan = deploy('# managed by ansible\n', { containerd: v('2.0.0') });
    expect(plan).toMatchObject({ change: 'add', schema: 3 });
    expect(plan.text.startsWith('# managed by ansible\n\nversion = 3\n')).toBe(true);
  });

  it('changes nothing when the handler is already as it would write it, however it is laid out', () => {
    const once = deploy(CONTAINERD_V2).text;
    expect(deploy(once)).toMatchObject({ change: 'none', text: once });
    const relaid = `version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\noptions = { ConfigPath = "${KATA_CONFIG}" }\n`
      + 'pod_annotations = [ "io.katacontainers.*" ]\nprivileged_without_host_devices = true\nruntime_type = "io.containerd.kata.v2"\n';
    expect(deploy(relaid).change).toBe('none');
  });

  it('replaces an older kata handler in place, keeping the comment that introduces the next table', () => {
    const plan = deploy(CONTAINERD_V2_WITH_KATA);
    expect(plan).toMatchObject({ change: 'replace', rewritten: false });
    expect(plan.notes.join()).toContain('/opt/kata/share/defaults/kata-containers/configuration-qemu.toml');
    expect(sameValue(split(plan.text, 2).handler, V2_HANDLER)).toBe(true);
    expect(sameValue(split(plan.text, 2).rest, split(CONTAINERD_V2_WITH_KATA, 2).rest)).toBe(true);
    expect(plan.text.indexOf('runtimes.kata]')).toBeLessThan(plan.text.indexOf('# mirrors for the air-gapped lab\n[plugins'));
  });

  it('replaces its own earlier block in place, marker line included, when the settings change', () => {
    const once = deploy(CONTAINERD_V2).text;
    const plan = deploy(once, { settings: { ...settings, kataConfig: '/etc/kata-ts/configuration.toml' } });
    expect(plan.change).toBe('replace');
    expect(plan.text.split('# kata-ts deploy: ')).toHaveLength(2);
    expect(plan.text).toBe(once.replace(KATA_CONFIG, '/etc/kata-ts/configuration.toml'));
  });

  it('rewrites the whole file, and says so, when the handler is written as dotted keys it cannot splice', () => {
    const dotted = '# comment\nversion = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes.kata.runtime_type = "io.containerd.kata.v2"\n  snapshotter = "overlayfs"\n';
    const plan = deploy(dotted);
    expect(plan).toMatchObject({ change: 'replace', rewritten: true });
    expect(plan.text).not.toContain('# comment');
    expect(sameValue(split(plan.text, 2).handler, V2_HANDLER)).toBe(true);
    expect(sameValue(split(plan.text, 2).rest, split(dotted, 2).rest)).toBe(true);
  });

  it.each([
    ['malformed TOML', 'version = 2\n[plugins\n', /config\.toml is not valid TOML \(line 2, column \d+\): .*nothing was changed/],
    ['an unknown version', 'version = 7\n', /config\.toml: unknown config version 7 \(kata-ts knows versions 1, 2 and 3\)/],
    ['a version that is not an integer', 'version = "2"\n', /`version` must be an integer, found "2"/],
  ])('refuses %s, naming the file and the problem', (_what, text, message) => {
    expect(() => deploy(text)).toThrow(DeployError);
    expect(() => deploy(text)).toThrow(message);
  });

  it('refuses a version 1 file when containerd 2.x, which cannot read it, is installed', () => {
    expect(() => deploy('[plugins.cri]\nsandbox_image = "p"\n', { containerd: v('2.1.0') })).toThrow(/no `version` key.*containerd 2\.1\.0 no longer reads/);
  });

  it('warns when the CRI plugin is disabled, or the schema is newer than the installed containerd', () => {
    expect(deploy('version = 2\ndisabled_plugins = ["cri"]\n').warnings.join()).toMatch(/disabled_plugins lists "cri"/);
    expect(deploy(CONTAINERD_V3, { containerd: v('1.7.0') }).warnings.join()).toMatch(/version 3, which containerd 1\.7\.0 cannot read/);
  });
});

describe('planContainerdUndeploy', () => {
  const undeploy = (text: string | undefined) => planContainerdUndeploy({ file: '/etc/containerd/config.toml', text, handler: 'kata' });

  it.each([['version 2', CONTAINERD_V2], ['version 3', CONTAINERD_V3], ['ending without a newline', 'version = 2\nroot = "/x"']])(
    'gives back the bytes from before deploy (%s)', (_what, original) => {
      const deployed = deploy(original).text;
      const plan = undeploy(deployed);
      expect(plan.change).toBe('remove');
      expect(plan.text).toBe(original.endsWith('\n') ? original : `${original}\n`);
    });

  it('removes a handler it did not write, and only that, leaving the comment of the next table', () => {
    const plan = undeploy(CONTAINERD_V2_WITH_KATA);
    expect(plan).toMatchObject({ change: 'remove', rewritten: false });
    expect(split(plan.text, 2).handler).toBeUndefined();
    expect(sameValue(split(plan.text, 2).rest, split(CONTAINERD_V2_WITH_KATA, 2).rest)).toBe(true);
    expect(plan.text).toContain('# mirrors for the air-gapped lab\n');
  });

  it('is a no-op without the handler or without the file', () => {
    expect(undeploy(CONTAINERD_V2)).toMatchObject({ change: 'none', text: CONTAINERD_V2 });
    expect(undeploy(undefined).change).toBe('none');
  });

  it('leaves a handler named kata alone when it is not a Kata runtime', () => {
    expect(() => undeploy('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\nruntime_type = "io.containerd.runc.v2"\n'))
      .toThrow(/runtime_type "io\.containerd\.runc\.v2", not "io\.containerd\.kata\.v2"/);
  });

  it('refuses a malformed file', () => {
    expect(() => undeploy('version = 2\nx = \n')).toThrow(/not valid TOML/);
  });
});
