import { constants } from 'node:os';

import { checkU32, errnoError, errnoName } from './errors';

describe('errnoError', () => {
  it('looks like a Node system error', () => {
    const error = errnoError(-constants.errno.ECONNREFUSED, 'connect', 'vsock:3:1024');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('connect ECONNREFUSED vsock:3:1024');
    expect(error).toMatchObject({ code: 'ECONNREFUSED', errno: -constants.errno.ECONNREFUSED, syscall: 'connect', address: 'vsock:3:1024' });
  });

  it.each([
    ['ENODEV', constants.errno.ENODEV],
    ['ETIMEDOUT', constants.errno.ETIMEDOUT],
    ['EAFNOSUPPORT', constants.errno.EAFNOSUPPORT],
    ['EAGAIN', constants.errno.EAGAIN],
  ])('names %s', (name, value) => {
    expect(errnoName(-value)).toBe(name);
  });

  it('leaves address out when there is none', () => {
    const error = errnoError(-constants.errno.EPIPE, 'write');
    expect(error.message).toBe('write EPIPE');
    expect('address' in error).toBe(false);
  });
});

describe('checkU32', () => {
  it('accepts the full unsigned 32-bit range', () => {
    expect(checkU32(0, 'port')).toBe(0);
    expect(checkU32(0xffffffff, 'cid')).toBe(0xffffffff);
  });

  it.each([[-1], [2 ** 32], [1.5], [NaN]])('rejects %p with ERR_OUT_OF_RANGE', (value) => {
    expect(() => checkU32(value, 'port')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('rejects non-numbers with ERR_INVALID_ARG_TYPE', () => {
    expect(() => checkU32('1024', 'port')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
