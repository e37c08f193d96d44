import { InvalidArgumentError } from './errors';

/**
 * Container and exec ids: what Kata's agent accepts (`verify_id`: first character alphanumeric, then at least one of
 * alphanumerics, '.', '_', '-'), bounded in length. No '/', so an id is always one path component.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$/;

/** Throws INVALID_ARGUMENT unless `id` is a valid container or exec id. */
export function validateId(id: string, what = 'container id'): string {
  if (typeof id !== 'string' || !ID.test(id) || id === '.' || id === '..') {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(String(id).slice(0, 140))}`);
  }
  return id;
}

/**
 * The exec id of a process request: "" or the container id mean the init process (Kata's convention);
 * anything else must be a valid id.
 */
export function normalizeExecId(containerId: string, execId: string): string {
  if (execId === '' || execId === containerId) return '';
  return validateId(execId, 'exec id');
}

/** Throws INVALID_ARGUMENT unless the value is an absolute, normalised path with no NUL. */
export function validateAbsolutePath(p: string, what: string): string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096) throw new InvalidArgumentError(`${what}: empty or too long`);
  if (p.includes('\0')) throw new InvalidArgumentError(`${what}: contains NUL`);
  if (!p.startsWith('/')) throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} is not absolute`);
  const parts = p.split('/');
  if (parts.some((c) => c === '..' || c === '.')) throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} has '.' or '..' components`);
  return p;
}
