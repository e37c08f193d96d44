/**
 * What `start` reads on stdin. containerd 1.6–2.2 send the runtime options as a marshalled
 * google.protobuf.Any (or nothing); 2.3+ sends a protobuf BootstrapParams. A legacy Any can happen to
 * parse as BootstrapParams, so, as containerd's pkg/shim compat.go does, BootstrapParams are believed
 * only when their instance id and namespace match the -id and -namespace flags.
 */
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ContainerdTypeUrl, codecs } from '@kata-ts/protocol/containerd';
import { typeUrlMatches, type AnyMessage } from '@kata-ts/protocol';

export interface StartInput {
  /** Runtime options (legacy stdin, or the first extension of BootstrapParams). */
  options?: AnyMessage;
  /** containerd's ttrpc address for events, when BootstrapParams carry it. */
  ttrpcAddress?: string;
  /** Where to put the shim socket (BootstrapParams.socket_dir, 2.3+). */
  socketDir?: string;
  /** BootstrapParams asked for debug logging. */
  debug?: boolean;
  /** Which protocol containerd used. */
  protocol: 'legacy' | 'bootstrap';
}

/** Task API version the shim offers when containerd speaks the bootstrap protocol (2.3+). */
export const BOOTSTRAP_TASK_API_VERSION = 3;

/**
 * What `start` prints. Under the 2.3+ bootstrap protocol: a BootstrapResult saying the shim serves the
 * task API v3 over ttrpc (containerd then uses containerd.task.v3.Task, and for a pod's later containers
 * reuses the sandbox's result instead of running `start` again). Otherwise the plain address: containerd
 * 1.6 takes stdout as the address verbatim and 1.7 refuses any version above 2, and nothing in a legacy
 * start tells 2.0-2.2 apart from them, so they get task API v2, which every 2.x still speaks.
 */
export function startReply(address: string, input: StartInput): string | Uint8Array {
  if (input.protocol !== 'bootstrap') return address;
  return codecs.bootstrapResult.encode({ version: BOOTSTRAP_TASK_API_VERSION, address, protocol: 'ttrpc' });
}

/** Reads all of stdin without blocking on a terminal; empty when there is nothing. */
export function readStdin(): Buffer {
  if (isatty(0)) return Buffer.alloc(0);
  try {
    return readFileSync(0);
  } catch {
    return Buffer.alloc(0);
  }
}

/** Interprets stdin bytes given the -id and -namespace flags. */
export function parseStartInput(data: Uint8Array, id: string, namespace: string): StartInput {
  if (data.length === 0) return { protocol: 'legacy' };
  try {
    const params = codecs.bootstrapParams.decode(data);
    if (params.instanceId === id && params.namespace === namespace && id !== '') {
      const values = (params.extensions ?? []).map((e) => e.value).filter((v): v is AnyMessage => !!v?.type_url);
      const options = values.find((v) => typeUrlMatches(v.type_url ?? '', ContainerdTypeUrl.RuntimeOptions)) ?? values[0];
      return {
        protocol: 'bootstrap',
        options,
        ttrpcAddress: params.containerdTtrpcAddress || undefined,
        socketDir: params.socketDir || undefined,
        debug: (params.logLevel ?? 0) <= -4,
      };
    }
  } catch {
    // not BootstrapParams: fall through to the legacy Any
  }
  let any: AnyMessage | undefined;
  try {
    any = codecs.any.decode(data);
  } catch {
    any = undefined;
  }
  // Something on stdin that is neither is not something to guess at: a shim started with the wrong
  // options (or by a containerd speaking a protocol we do not know) must say so, not boot a default VM.
  if (!any?.type_url) {
    throw new Error(`start: stdin holds ${data.length} bytes that are neither containerd's BootstrapParams for ` +
      `id "${id}" in namespace "${namespace}" nor a runtime-options Any; unknown start protocol`);
  }
  return { protocol: 'legacy', options: any };
}
