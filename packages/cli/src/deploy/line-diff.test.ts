import { unifiedDiff } from './line-diff';

describe('unifiedDiff', () => {
  const names = { before: 'a.toml', after: 'a.toml (after deploy)' };

  it('shows added and removed lines with context and line numbers', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8'].join('\n') + '\n';
    const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9'].join('\n') + '\n';
    expect(unifiedDiff(before, after, names, 1)).toBe([
      '--- a.toml', '+++ a.toml (after deploy)',
      '@@ -4,3 +4,3 @@', ' 4', '-5', '+five', ' 6',
      '@@ -8,1 +8,2 @@', ' 8', '+9', ''].join('\n'));
  });

  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\n', 'a\n', names)).toBe('');
  });
});
