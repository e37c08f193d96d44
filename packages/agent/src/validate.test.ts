import { InvalidArgumentError } from './errors';
import { normalizeExecId, validateAbsolutePath, validateId } from './validate';

describe('validateId', () => {
  it.each(['ab', 'c1', 'a.b-c_d', '0123456789abcdef'.repeat(4), 'x'.repeat(128)])('accepts %s', (id) => {
    expect(validateId(id)).toBe(id);
  });
  it.each(['', 'a', '.', '..', '../x', 'a/b', '-ab', '_ab', '.ab', 'a b', 'a\0b', 'x'.repeat(129), 'é1'])('refuses %j', (id) => {
    expect(() => validateId(id)).toThrow(InvalidArgumentError);
  });
});

describe('normalizeExecId', () => {
  it('maps "" and the container id to the init process', () => {
    expect(normalizeExecId('c1', '')).toBe('');
    expect(normalizeExecId('c1', 'c1')).toBe('');
    expect(normalizeExecId('c1', 'e1')).toBe('e1');
    expect(() => normalizeExecId('c1', 'a/b')).toThrow(InvalidArgumentError);
  });
});

describe('validateAbsolutePath', () => {
  it.each(['/a', '/a/b.c', '/'])('accepts %s', (p) => expect(validateAbsolutePath(p, 'p')).toBe(p));
  it.each(['', 'a', './a', '/a/../b', '/a/./b', '/a\0'])('refuses %j', (p) => {
    expect(() => validateAbsolutePath(p, 'p')).toThrow(InvalidArgumentError);
  });
});
