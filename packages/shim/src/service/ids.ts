/**
 * Ids that reach the shim's APIs (container, exec and sandbox ids) become path components on the host:
 * <share>/mounts/<id>/rootfs, <state>/sbs/<id>, bundle files. containerd checks its own ids, but the
 * shim's socket takes any request, so the shim checks them again where they come in: one component,
 * never '.' or '..', no '/', bounded (the rule of Kata's agent, `verify_id`, with single characters allowed
 * as containerd allows them).
 */
import { InvalidArgumentError } from '../errors';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Returns `id`, or throws INVALID_ARGUMENT naming `what`. */
export function validateId(id: string | null | undefined, what: string): string {
  if (!id) throw new InvalidArgumentError(`${what} must not be empty`);
  if (!ID.test(id)) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(id.slice(0, 140))}: letters, digits, '.', '_', '-', at most 128, starting with a letter or digit`);
  return id;
}
