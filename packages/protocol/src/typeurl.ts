/**
 * google.protobuf.Any helpers with containerd's type URLs. containerd names protobuf types by their
 * full name ("containerd.events.TaskExit", "io.containerd.cgroups.v2.Metrics") and the OCI runtime-spec
 * structs, which have no protobuf form, by "types.containerd.io/opencontainers/runtime-spec/1/<Type>"
 * with the struct JSON-encoded in `value`.
 */
import type { Codec } from 'ttrpc-ts';

/** The wire shape of google.protobuf.Any as the generated code names it. */
export interface AnyMessage {
  type_url?: string | null;
  value?: Uint8Array | null;
}

/** Prefix containerd uses for the JSON-encoded OCI runtime-spec types. */
export const OCI_TYPE_URL_PREFIX = 'types.containerd.io/opencontainers/runtime-spec/1/';

/** Type URLs of the OCI structs that travel JSON-encoded inside Any. */
export const OciTypeUrl = {
  Spec: `${OCI_TYPE_URL_PREFIX}Spec`,
  Process: `${OCI_TYPE_URL_PREFIX}Process`,
  LinuxResources: `${OCI_TYPE_URL_PREFIX}LinuxResources`,
  WindowsResources: `${OCI_TYPE_URL_PREFIX}WindowsResources`,
  /** The runtime features document (RuntimeInfo.features of a shim's `-info`). */
  Features: `${OCI_TYPE_URL_PREFIX}features/Features`,
} as const;

/** Thrown when an Any is not of the type the caller needs or cannot be decoded. */
export class TypeUrlError extends Error {
  override readonly name = 'TypeUrlError';
}

/** Wraps a protobuf message in an Any under `typeUrl`. */
export function packAny<T>(typeUrl: string, codec: Codec<T>, message: T): AnyMessage {
  return { type_url: typeUrl, value: codec.encode(message) };
}

/** Opens an Any that must carry `typeUrl`. A leading "type.googleapis.com/" style host part is tolerated. */
export function unpackAny<T>(any: AnyMessage | null | undefined, typeUrl: string, codec: Codec<T>): T {
  const actual = any?.type_url ?? '';
  if (!typeUrlMatches(actual, typeUrl)) throw new TypeUrlError(`expected Any of type ${typeUrl}, got ${actual || 'nothing'}`);
  try {
    return codec.decode(any?.value ?? new Uint8Array(0));
  } catch (err) {
    throw new TypeUrlError(`cannot decode ${typeUrl}: ${(err as Error).message}`);
  }
}

/** Wraps an OCI struct (plain object) as containerd does: JSON bytes under the runtime-spec type URL. */
export function packJsonAny(typeUrl: string, value: unknown): AnyMessage {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(value)) };
}

/** Opens a JSON-encoded Any (e.g. the Process of an Exec request); the result is untrusted input. */
export function unpackJsonAny<T = unknown>(any: AnyMessage | null | undefined, typeUrl: string): T {
  const actual = any?.type_url ?? '';
  if (!typeUrlMatches(actual, typeUrl)) throw new TypeUrlError(`expected Any of type ${typeUrl}, got ${actual || 'nothing'}`);
  try {
    return JSON.parse(Buffer.from(any?.value ?? new Uint8Array(0)).toString('utf8')) as T;
  } catch (err) {
    throw new TypeUrlError(`cannot decode ${typeUrl} JSON: ${(err as Error).message}`);
  }
}

/** True when `actual` names `expected`, with or without a "<host>/" prefix before the full name. */
export function typeUrlMatches(actual: string, expected: string): boolean {
  if (actual === expected) return true;
  const slash = actual.lastIndexOf('/');
  const expectedSlash = expected.lastIndexOf('/');
  // Only bare protobuf names get prefix-tolerance; the OCI URLs must match exactly.
  return expectedSlash === -1 && slash !== -1 && actual.slice(slash + 1) === expected;
}
