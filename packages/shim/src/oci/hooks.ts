/**
 * The OCI hooks a runtime runs on the host (runtime-spec config.md, "POSIX-platform Hooks"): prestart
 * and createRuntime while the container is created, poststart after it started, poststop after it was
 * deleted. nerdctl depends on them: its createRuntime hook (`nerdctl internal oci-hook`) attaches the
 * container to CNI networks, publishes ports and writes /etc/hosts; its poststop hook undoes that.
 *
 * As in Kata, the hooks run in the runtime's namespaces, each hook gets the container's state on
 * stdin, and `nerdctl/network-namespace` in the state's annotations names the network namespace the
 * VM's NICs come from (a VM runtime's pid is not a process in that namespace; nerdctl takes the
 * annotation over /proc/<pid>/ns/net). createContainer and startContainer hooks belong in the
 * container's own namespaces, which are in the guest: they are not run here (nor by Kata).
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../framework/logging';
import type { OciSpec } from './spec';

/** One hook of config.json. */
export interface OciHook {
  path: string;
  /** argv, args[0] included. */
  args?: string[];
  /** The hook's whole environment ("KEY=value"); absent: the shim's. */
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

export type HostHookKind = 'prestart' | 'createRuntime' | 'poststart' | 'poststop';

/** The container state a hook reads on stdin (runtime-spec runtime.md, "State"). */
export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

/** The annotation nerdctl's hook (and Kata) use to name the network namespace to configure. */
export const NETNS_ANNOTATION = 'nerdctl/network-namespace';

/** How long a hook without a timeout of its own may run. */
const DEFAULT_TIMEOUT_S = 120;
/** Bytes of a hook's output kept for the log and the error. */
const OUTPUT_MAX = 4096;

/** The spec's hooks of one kind (malformed entries are dropped: a hook needs an absolute path). */
export function hooksOf(spec: OciSpec, kind: HostHookKind): OciHook[] {
  const all = spec.hooks as Record<string, unknown> | undefined;
  const list = all && typeof all === 'object' ? all[kind] : undefined;
  if (!Array.isArray(list)) return [];
  return list.filter((h): h is OciHook => typeof h === 'object' && h !== null && typeof (h as OciHook).path === 'string' && (h as OciHook).path.startsWith('/'));
}

/** True when the spec has any host hook to run while the container is created. */
export function hasCreateHooks(spec: OciSpec): boolean {
  return hooksOf(spec, 'prestart').length > 0 || hooksOf(spec, 'createRuntime').length > 0;
}

/** The state the hooks of a container see. */
export function hookState(spec: OciSpec, s: { id: string; bundle: string; status: HookState['status']; pid: number; netnsPath?: string }): HookState {
  const annotations = { ...(spec.annotations ?? {}) };
  if (s.netnsPath) annotations[NETNS_ANNOTATION] = s.netnsPath;
  return { ociVersion: spec.ociVersion ?? '1.0.2', id: s.id, status: s.status, pid: s.pid, bundle: s.bundle, annotations };
}

/** Runs the prestart, then the createRuntime hooks; the first failure stops and throws. */
export async function runCreateHooks(spec: OciSpec, state: HookState, log: Logger): Promise<void> {
  await runHooks(hooksOf(spec, 'prestart'), state, log);
  await runHooks(hooksOf(spec, 'createRuntime'), state, log);
}

/** Runs hooks in order; throws on the first that fails or times out. */
export async function runHooks(hooks: readonly OciHook[], state: HookState, log: Logger): Promise<void> {
  for (const hook of hooks) {
    const started = Date.now();
    const { code, signal, output, timedOut } = await runHook(hook, JSON.stringify(state));
    const fields = { hook: hook.path, args: hook.args?.slice(-2), status: state.status, ms: Date.now() - started };
    if (code === 0) {
      log.info(fields, 'OCI hook ran');
      continue;
    }
    const why = timedOut ? 'timed out' : signal ? `died of ${signal}` : `exited ${code}`;
    log.error({ ...fields, output }, `OCI hook ${why}`);
    throw new Error(`OCI hook ${hook.path} ${why}${output ? `: ${output}` : ''}`);
  }
}

function runHook(hook: OciHook, state: string): Promise<{ code: number | null; signal: string | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args, { argv0, env: hook.env ? envObject(hook.env) : process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let closed = false;
    child.once('close', () => (closed = true));
    let output = '';
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-OUTPUT_MAX);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.stdin.on('error', () => undefined); // a hook that does not read its state
    child.stdin.end(state);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, (hook.timeout && hook.timeout > 0 ? hook.timeout : DEFAULT_TIMEOUT_S) * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`OCI hook ${hook.path}: ${err.message}`));
    });
    // 'exit', not 'close': a daemon the hook leaves behind may hold its stdout (it should not, but
    // then the hook has still finished). Output still in the pipes gets a moment to arrive.
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const done = () => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, signal, output: output.trim(), timedOut });
      };
      if (closed) return done();
      const grace = setTimeout(done, 200);
      child.once('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
}

/** "KEY=value" entries as an environment object; later entries win, as Go's exec.Cmd (runc's) dedups them. */
function envObject(list: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}
