/**
 * The OCI runtime-spec structures the shim reads (config.json, Exec's Process, Update's
 * LinuxResources). Only the fields the shim or the agent use are typed; everything is untrusted
 * input from containerd's client and is validated where it matters.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors';

export interface OciUser {
  uid?: number;
  gid?: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: OciUser;
  args?: string[];
  env?: string[];
  cwd?: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
}

export interface OciLinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface OciLinuxCpu {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
}

export interface OciLinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciLinuxResources {
  devices?: OciLinuxDeviceCgroup[];
  memory?: OciLinuxMemory;
  cpu?: OciLinuxCpu;
  pids?: { limit: number };
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  [other: string]: unknown;
}

export interface OciLinuxNamespace {
  type: string;
  path?: string;
}

export interface OciLinuxDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** One seccomp argument comparison (runtime-spec LinuxSeccompArg). */
export interface OciLinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** One seccomp rule (runtime-spec LinuxSyscall). */
export interface OciLinuxSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciLinuxSeccompArg[];
}

/** runtime-spec LinuxSeccomp; fields Kata's oci.proto has no room for are listed so callers can see them. */
export interface OciLinuxSeccomp {
  defaultAction: string;
  /** Not in Kata's LinuxSeccomp message; crun's default (EPERM) applies in the guest. */
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  /** Not in Kata's LinuxSeccomp message (a host seccomp agent cannot be reached from the guest). */
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciLinuxSyscall[];
}

export interface OciLinux {
  uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  sysctl?: Record<string, string>;
  resources?: OciLinuxResources;
  cgroupsPath?: string;
  namespaces?: OciLinuxNamespace[];
  devices?: OciLinuxDevice[];
  seccomp?: OciLinuxSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}

export interface OciSpec {
  ociVersion?: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  hooks?: unknown;
  annotations?: Record<string, string>;
  linux?: OciLinux;
}

/** Most bytes of config.json the shim reads (a spec is a few KiB; this bounds a hostile one). */
const SPEC_MAX_BYTES = 4 << 20;

/** Reads and parses `<bundle>/config.json`. */
export async function readSpec(bundle: string): Promise<OciSpec> {
  const file = path.join(bundle, 'config.json');
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > SPEC_MAX_BYTES) throw new InvalidArgumentError(`${file} is larger than ${SPEC_MAX_BYTES} bytes`);
    return parseSpec(await handle.readFile('utf8'), file);
  } finally {
    await handle.close();
  }
}

/** readSpec, or undefined when the bundle has no config.json (a Sandbox API sandbox's bundle). */
export async function readSpecIfPresent(bundle: string): Promise<OciSpec | undefined> {
  try {
    return await readSpec(bundle);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Parses an OCI spec, requiring an object. */
export function parseSpec(text: string, what = 'spec'): OciSpec {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`cannot parse ${what}: ${(err as Error).message}`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InvalidArgumentError(`${what} is not a JSON object`);
  return spec as OciSpec;
}
