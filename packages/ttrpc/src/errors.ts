import { Code, codeName } from './codes';

/** A google.rpc.Any detail attached to a status. */
export interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

/**
 * An error that carries a gRPC status: what a ttrpc server puts on the wire and what a client's call
 * rejects with. `code` is the gRPC code number; `details` are passed through untouched.
 */
export class TtrpcError extends Error {
  override readonly name = 'TtrpcError';

  constructor(
    readonly code: Code,
    message: string,
    readonly details: StatusDetail[] = [],
  ) {
    super(message);
  }

  /** "NOT_FOUND: container x" — the form used in logs. */
  override toString(): string {
    return `${codeName(this.code)}: ${this.message}`;
  }
}

/** Pending calls fail with this when the connection closes (mirrors Go's ErrClosed, "ttrpc: closed"). */
export class ClosedError extends TtrpcError {
  constructor(reason?: string) {
    super(Code.UNAVAILABLE, reason ? `ttrpc: closed: ${reason}` : 'ttrpc: closed');
  }
}

/** Type guard that also accepts TtrpcErrors from another copy of this module (duck-typed on code). */
export function isTtrpcError(err: unknown): err is TtrpcError {
  return err instanceof TtrpcError || (err instanceof Error && err.name === 'TtrpcError' && typeof (err as TtrpcError).code === 'number');
}

/**
 * Maps whatever a handler threw to a status, the way Go's ttrpc convertCode does: statuses pass
 * through; Node errno codes that have an obvious gRPC meaning are translated; everything else is UNKNOWN.
 */
export function toTtrpcError(err: unknown): TtrpcError {
  if (isTtrpcError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (errno) {
    case 'ENOENT':
      return new TtrpcError(Code.NOT_FOUND, message);
    case 'EEXIST':
      return new TtrpcError(Code.ALREADY_EXISTS, message);
    case 'EACCES':
    case 'EPERM':
      return new TtrpcError(Code.PERMISSION_DENIED, message);
    case 'ABORT_ERR':
      return new TtrpcError(Code.CANCELLED, message);
    default:
      return new TtrpcError(Code.UNKNOWN, message);
  }
}
