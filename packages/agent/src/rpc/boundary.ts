import { Code, type CallContext, type TtrpcError } from 'ttrpc-ts';
import { toStatus } from '../errors';
import type { LimitedLogger } from '../logging';

/**
 * The agent server's error boundary, installed as the ttrpc-ts Server's `toStatus`: whatever a handler
 * throws leaves as the status made by toStatus() — the single error→status mapping of the agent — and
 * the failure is logged, rate-limited because the host can cause failures at will.
 */
export function agentErrorBoundary(log: LimitedLogger): (err: unknown, ctx: CallContext) => TtrpcError {
  return (err, ctx) => {
    const status = toStatus(err);
    if (status.code !== Code.CANCELLED) {
      log.warn(`${ctx.service}.${ctx.method}`, { rpc: ctx.method, code: Code[status.code], err: status.message }, 'request failed');
    }
    return status;
  };
}
