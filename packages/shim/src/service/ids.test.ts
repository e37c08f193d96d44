import { InvalidArgumentError } from '../errors';
import { validateId } from './ids';

describe('validateId', () => {
  it.each(['a', 'c1', 'ab12-cd_34.ef', 'f'.repeat(64), 'x'.repeat(128)])('takes %p', (id) => {
    expect(validateId(id, 'id')).toBe(id);
  });

  it.each(['', '..', '.', '../../etc', 'a/../../b', 'c1/rootfs', '/abs', '.hidden', '-x', 'a b', 'a\0', 'x'.repeat(129)])('refuses %p with INVALID_ARGUMENT', (id) => {
    expect(() => validateId(id, 'id')).toThrow(InvalidArgumentError);
  });
});
