/**
 * Running iproute2 inside the pod's network namespace. The namespace is a path (CRI's
 * /var/run/netns/cni-..., `ctr run --with-ns network:<path>`), so `ip -n <name>` does not fit;
 * `nsenter --net=<path>` enters it by path for one command.
 */
import { execFile } from 'node:child_process';
import type { OciSpec } from '../oci/spec';

/** Runs one command (argv[0] + args) in the pod netns; resolves with its stdout. */
export type NetnsExec = (argv: readonly string[]) => Promise<string>;

const NSENTER = 'nsenter';
const COMMAND_TIMEOUT_MS = 10_000;

/** The network namespace path of a sandbox's spec, if it names one (no path: no pod network). */
export function netnsPathOf(spec: OciSpec): string | undefined {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  return ns?.path ? ns.path : undefined;
}

/** A NetnsExec for the namespace at `netnsPath`. */
export function netnsExec(netnsPath: string): NetnsExec {
  return (argv) =>
    new Promise((resolve, reject) => {
      execFile(NSENTER, [`--net=${netnsPath}`, '--', ...argv], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        if (!err) resolve(stdout);
        else reject(new Error(`${argv.join(' ')} (in ${netnsPath}): ${(stderr || err.message).trim().slice(0, 1000)}`));
      });
    });
}
