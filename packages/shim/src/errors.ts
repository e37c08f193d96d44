/**
 * Domain errors of the shim and the one place they become ttrpc statuses. Code below the RPC layer
 * throws these (or lets agent/ttrpc statuses through); task-service.ts maps them with toStatus().
 */
import { Code, TtrpcError, isTtrpcError, toTtrpcError } from 'ttrpc-ts';

/** Base of the shim's typed errors: a message plus the gRPC code it stands for. */
export abstract class ShimError extends Error {
  abstract readonly code: Code;
}

/** The container, process or sandbox does not exist (containerd: errdefs.ErrNotFound). */
export class NotFoundError extends ShimError {
  override readonly name = 'NotFoundError';
  readonly code = Code.NOT_FOUND;
}

/** Something with that id already exists. */
export class AlreadyExistsError extends ShimError {
  override readonly name = 'AlreadyExistsError';
  readonly code = Code.ALREADY_EXISTS;
}

/** The call is illegal in the current state ("cannot pause task in created state"). */
export class FailedPreconditionError extends ShimError {
  override readonly name = 'FailedPreconditionError';
  readonly code = Code.FAILED_PRECONDITION;
}

/** The request itself is malformed. */
export class InvalidArgumentError extends ShimError {
  override readonly name = 'InvalidArgumentError';
  readonly code = Code.INVALID_ARGUMENT;
}

/** The shim does not implement this (containerd: errdefs.ErrNotImplemented). */
export class UnimplementedError extends ShimError {
  override readonly name = 'UnimplementedError';
  readonly code = Code.UNIMPLEMENTED;
}

/** The sandbox VM or its agent is gone or not reachable. */
export class UnavailableError extends ShimError {
  override readonly name = 'UnavailableError';
  readonly code = Code.UNAVAILABLE;
}

/** A deadline passed. */
export class DeadlineExceededError extends ShimError {
  override readonly name = 'DeadlineExceededError';
  readonly code = Code.DEADLINE_EXCEEDED;
}

/**
 * Maps anything thrown below the RPC layer to the status put on the wire: domain errors by their
 * code, statuses (e.g. from the agent) unchanged, errno errors as Go's ttrpc does, the rest UNKNOWN.
 */
export function toStatus(err: unknown): TtrpcError {
  if (err instanceof ShimError) return new TtrpcError(err.code, err.message);
  if (isTtrpcError(err)) return err;
  return toTtrpcError(err);
}

/** The gRPC code of an error, when it has one (domain error or status). */
export function codeOf(err: unknown): Code | undefined {
  if (err instanceof ShimError) return err.code;
  if (isTtrpcError(err)) return err.code;
  return undefined;
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
