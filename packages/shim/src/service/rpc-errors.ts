/**
 * The shim server's one error boundary (ServerOptions.toStatus), shared by every service it serves
 * (Task v2/v3, Sandbox): domain errors become statuses by their code (errors.ts), each failure is
 * logged once with the service and method that failed.
 */
import type { CallContext, TtrpcError } from 'ttrpc-ts';
import { toStatus } from '../errors';
import type { Logger } from '../framework/logging';

export function rpcErrorToStatus(log: Logger): (err: unknown, ctx: CallContext) => TtrpcError {
  return (err, ctx) => {
    const status = toStatus(err);
    log.debug({ service: ctx.service, rpc: ctx.method, code: status.code, err: status.message }, 'rpc failed');
    return status;
  };
}
