import { Code, TtrpcError } from 'ttrpc-ts';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, toStatus, UnavailableError } from './errors';

describe('toStatus', () => {
  it.each([
    [new NotFoundError('x'), Code.NOT_FOUND],
    [new AlreadyExistsError('x'), Code.ALREADY_EXISTS],
    [new InvalidArgumentError('x'), Code.INVALID_ARGUMENT],
    [new FailedPreconditionError('x'), Code.FAILED_PRECONDITION],
    [new UnavailableError('x'), Code.UNAVAILABLE],
    [Object.assign(new Error('x'), { code: 'ENOENT' }), Code.NOT_FOUND],
    [Object.assign(new Error('x'), { code: 'ELOOP' }), Code.INVALID_ARGUMENT],
    [new TtrpcError(Code.RESOURCE_EXHAUSTED, 'x'), Code.RESOURCE_EXHAUSTED],
    [new Error('boom'), Code.INTERNAL],
    ['a string', Code.INTERNAL],
  ])('%s → %s', (err, code) => {
    expect(toStatus(err).code).toBe(code);
  });
});
