import { tableSections } from './toml-sections';
import { CONTAINERD_V2, CONTAINERD_V3 } from './test-configs';

describe('tableSections', () => {
  it('finds every header with its unquoted path, and nothing inside strings or multi-line arrays', () => {
    const paths = tableSections(CONTAINERD_V2).map((s) => s.path.join(' / '));
    expect(paths).toContain('plugins / io.containerd.grpc.v1.cri / containerd / runtimes / gvisor');
    expect(paths).toContain('plugins / io.containerd.grpc.v1.cri / registry / configs / mirror.example.internal / tls');
    expect(paths.some((p) => p.includes('not a header') || p.includes('multi-line'))).toBe(false);
    expect(paths).toHaveLength(16);
  });

  it('reads literal-quoted keys and arrays of tables', () => {
    const sections = tableSections(CONTAINERD_V3);
    expect(sections.find((s) => s.arrayOfTables)?.path).toEqual(['plugins', 'io.containerd.transfer.v1.local', 'unpack_config']);
    expect(sections.map((s) => s.path[1])).toContain('io.containerd.cri.v1.runtime');
  });

  it('spans each section up to the next header, and its content up to its last key', () => {
    const text = 'top = 1\n[a]\nx = 1\n\n# about b\n[b] # trailing\ny = """\n[c]\n"""\n';
    const [a, b] = tableSections(text);
    expect(text.slice(a?.start, a?.end)).toBe('[a]\nx = 1\n\n# about b\n');
    expect(text.slice(a?.start, a?.contentEnd)).toBe('[a]\nx = 1\n');
    expect(b?.path).toEqual(['b']);
    expect(text.slice(b?.start, b?.end)).toBe('[b] # trailing\ny = """\n[c]\n"""\n');
  });

  it('unescapes quoted keys as TOML does', () => {
    expect(tableSections('["a\\u0041b".\'c.d\'  .  e]\n')[0]?.path).toEqual(['aAb', 'c.d', 'e']);
  });
});
