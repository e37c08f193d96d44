import { Code } from 'ttrpc-ts';
import { toStatus } from '../errors';
import type { LimitedLogger } from '../logging';

type Handler = (request: never, ctx: never) => unknown;

/**
 * Wraps every handler of a service implementation so that whatever it throws leaves as a ttrpc status
 * made by toStatus() — the single error→status mapping of the agent — and failures are logged
 * (rate-limited: a host can make them at will).
 */
export function withStatusMapping<T extends object>(service: string, impl: T, log: LimitedLogger): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl as Record<string, unknown>)) {
    if (typeof fn !== 'function') continue;
    const handler = (fn as Handler).bind(impl);
    out[name] = async (request: never, ctx: never): Promise<unknown> => {
      try {
        return await handler(request, ctx);
      } catch (err) {
        const status = toStatus(err);
        if (status.code !== Code.CANCELLED) {
          log.warn(`${service}.${name}`, { rpc: name, code: Code[status.code], err: status.message }, 'request failed');
        }
        throw status;
      }
    };
  }
  return out as T;
}
