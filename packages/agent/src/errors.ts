import { Code, TtrpcError, isTtrpcError } from 'ttrpc-ts';

/** Base of the agent's domain errors; the RPC boundary maps each kind to one status code. */
export abstract class AgentError extends Error {
  abstract readonly code: Code;
}

/** The request names something that does not exist (container, process, file). */
export class NotFoundError extends AgentError {
  override readonly name = 'NotFoundError';
  readonly code = Code.NOT_FOUND;
}

/** The request would create something that already exists. */
export class AlreadyExistsError extends AgentError {
  override readonly name = 'AlreadyExistsError';
  readonly code = Code.ALREADY_EXISTS;
}

/** The request is malformed or unsafe (bad id, path outside its root, bad size). */
export class InvalidArgumentError extends AgentError {
  override readonly name = 'InvalidArgumentError';
  readonly code = Code.INVALID_ARGUMENT;
}

/** The request is valid but not in the object's current state (start a running container...). */
export class FailedPreconditionError extends AgentError {
  override readonly name = 'FailedPreconditionError';
  readonly code = Code.FAILED_PRECONDITION;
}

/** Something the agent cannot do here (no tty, no cgroup, not in a guest). */
export class UnavailableError extends AgentError {
  override readonly name = 'UnavailableError';
  readonly code = Code.UNAVAILABLE;
}

/** A call was cancelled (its connection closed or it was superseded). */
export class CancelledError extends AgentError {
  override readonly name = 'CancelledError';
  readonly code = Code.CANCELLED;
}

/**
 * The one place where the agent's errors become ttrpc statuses. Domain errors keep their code;
 * statuses pass through; Node errno errors are mapped (ENOENT → NOT_FOUND...); everything else is
 * INTERNAL, since a failure the domain did not classify is the agent's own fault.
 */
export function toStatus(err: unknown): TtrpcError {
  if (err instanceof AgentError) return new TtrpcError(err.code, err.message);
  if (isTtrpcError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return new TtrpcError(Code.NOT_FOUND, message);
    case 'EEXIST':
      return new TtrpcError(Code.ALREADY_EXISTS, message);
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'ELOOP':
    case 'ENOTDIR':
    case 'EISDIR':
      return new TtrpcError(Code.INVALID_ARGUMENT, message);
    case 'EACCES':
    case 'EPERM':
      return new TtrpcError(Code.PERMISSION_DENIED, message);
    case 'ABORT_ERR':
      return new TtrpcError(Code.CANCELLED, message);
    default:
      return new TtrpcError(Code.INTERNAL, message);
  }
}
