/**
 * Which running sandbox an operator means (kata-ts agent-ctl, kata-ts exec): the id as containerd
 * knows it, i.e. a pod's sandbox id or the container id of a plain `ctr run`, found as a directory
 * <state dir>/sbs/<id> whose shim serves agent-ctl.sock; or the id of a container in a pod, found
 * as the directory its rootfs is mounted under (<sbs>/<sandbox>/mounts/<container id>, made by the
 * shim, never by the guest).
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { AGENT_CTL_SOCKET } from '@kata-ts/shim';

/** containerd's id rule, and no path tricks: the id names a directory. */
export const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class SandboxLookupError extends Error {}

export interface ResolvedSandbox {
  id: string;
  dir: string;
  /** Set when the id given was a container of this sandbox. */
  container?: string;
}

/** Sandboxes whose shim is serving (agent-ctl.sock exists), sorted. */
export function runningSandboxes(stateDir: string): string[] {
  const sbs = path.join(stateDir, 'sbs');
  try {
    return readdirSync(sbs).filter((id) => existsSync(path.join(sbs, id, AGENT_CTL_SOCKET))).sort();
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The running sandbox `id` names (a sandbox or one of its containers); throws naming the running ones. */
export function resolveSandbox(stateDir: string, id: string): ResolvedSandbox {
  if (!SANDBOX_ID.test(id)) throw new SandboxLookupError(`${JSON.stringify(id)} is not a sandbox id`);
  const sbs = path.join(stateDir, 'sbs');
  const running = runningSandboxes(stateDir);
  if (running.includes(id)) return { id, dir: path.join(sbs, id) };
  const owner = running.find((sb) => isDirectory(path.join(sbs, sb, 'mounts', id)));
  if (owner) return { id: owner, dir: path.join(sbs, owner), container: id };
  throw new SandboxLookupError(`no running sandbox ${id} (nor a pod container of that id) under ${sbs}; running: ${running.length ? running.join(', ') : 'none'}`);
}
