import { excludedOn, parseExclusions, skipExpression } from './exclusions';

describe('conformance exclusions', () => {
  const list = parseExclusions([
    '# comment',
    '[k8s.io] Security Context NamespaceOption runtime should support HostIpc is true',
    'crio: [k8s.io] Container runtime should support log runtime should support reopening container log [Conformance]',
    '',
  ].join('\n'));

  it('reads daemon-qualified and unqualified lines', () => {
    expect(list).toEqual([
      { spec: '[k8s.io] Security Context NamespaceOption runtime should support HostIpc is true' },
      { daemon: 'crio', spec: '[k8s.io] Container runtime should support log runtime should support reopening container log [Conformance]' },
    ]);
    expect(excludedOn('containerd', list).size).toBe(1);
    expect(excludedOn('crio', list).size).toBe(2);
  });

  it('builds a ginkgo skip expression that matches only the whole names, after the suite description', () => {
    const re = new RegExp(skipExpression(excludedOn('crio', list))!);
    // What ginkgo matches: the suite description, a space, the spec's text.
    const ginkgo = (spec: string) => `CRI validation ${spec}`;
    expect(re.test(ginkgo('[k8s.io] Container runtime should support log runtime should support reopening container log [Conformance]'))).toBe(true);
    expect(re.test(ginkgo('[k8s.io] Security Context NamespaceOption runtime should support HostIpc is true'))).toBe(true);
    expect(re.test('[k8s.io] Security Context NamespaceOption runtime should support HostIpc is true')).toBe(true);
    expect(re.test(ginkgo('[k8s.io] Security Context NamespaceOption runtime should support HostIpc is false'))).toBe(false);
    expect(re.test(ginkgo('[k8s.io] Security Context NamespaceOption runtime should support HostIpc is true and more'))).toBe(false);
    expect(skipExpression([])).toBeUndefined();
  });
});
