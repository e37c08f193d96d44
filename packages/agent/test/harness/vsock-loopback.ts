// node-vsock's AF_VSOCK round trip (packages/node-vsock/test/vm-loopback.mjs) run as a container in the
// guest VM: listens on (CID ANY, port), connects over guest loopback (CID 1, vsock_loopback), echoes 1 MiB.
// Only ever inside the guest: the host's own vsock peer is not ours.
import { execFileSync } from 'node:child_process';
import { chmodSync, constants, copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AgentService } from '@kata-ts/protocol/kata';
import type { ServiceClient } from 'ttrpc-ts';
import { REPO } from './guest-vm';
import { readAll } from './io';
import { makeBusyboxRootfs } from './rootfs';
import { busyboxSpec } from './spec';

const NODE_VSOCK = path.join(REPO, 'packages/node-vsock');
const ADDON = path.join(NODE_VSOCK, 'build/Release/node_vsock.node');
const DIST = path.join(NODE_VSOCK, 'dist/index.js');
/** Not 1024: the agent listens there. vm-loopback.mjs also uses port + 1 as the refused port. */
export const VSOCK_LOOPBACK_PORT = 5300;
export const VSOCK_LOOPBACK_BYTES = 1024 * 1024;

/** Builds node-vsock (addon and dist) when either is missing. */
export function ensureNodeVsockBuilt(): void {
  if (existsSync(ADDON) && existsSync(DIST)) return;
  execFileSync('pnpm', ['-F', 'node-vsock', 'build'], { cwd: REPO, stdio: 'inherit' });
}

/** The shared libraries `ldd` lists for a binary (including the dynamic loader), as absolute paths. */
function sharedLibraries(file: string): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function copyTo(rootfs: string, file: string): void {
  const dest = path.join(rootfs, file);
  mkdirSync(path.dirname(dest), { recursive: true });
  // A copy, not a hard link: the share is writable from the guest. FICLONE shares blocks where it can.
  copyFileSync(file, dest, constants.COPYFILE_FICLONE);
}

/**
 * A busybox root file system plus the host's node (at its own path) and the libraries ldd lists for it and
 * for the addon, and node-vsock under /vsock: dist/, build/Release/node_vsock.node, test/vm-loopback.mjs.
 */
export function makeNodeVsockRootfs(dir: string): string {
  ensureNodeVsockBuilt();
  makeBusyboxRootfs(dir);
  const node = process.execPath;
  copyTo(dir, node);
  chmodSync(path.join(dir, node), 0o755);
  for (const lib of new Set([...sharedLibraries(node), ...sharedLibraries(ADDON)])) copyTo(dir, lib);
  cpSync(path.join(NODE_VSOCK, 'dist'), path.join(dir, 'vsock/dist'), { recursive: true });
  mkdirSync(path.join(dir, 'vsock/build/Release'), { recursive: true });
  copyFileSync(ADDON, path.join(dir, 'vsock/build/Release/node_vsock.node'));
  mkdirSync(path.join(dir, 'vsock/test'), { recursive: true });
  copyFileSync(path.join(NODE_VSOCK, 'test/vm-loopback.mjs'), path.join(dir, 'vsock/test/vm-loopback.mjs'));
  return dir;
}

export interface VsockLoopbackResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Creates container `id` (root file system at `rootPath` in the guest, made by makeNodeVsockRootfs), runs
 * `node /vsock/test/vm-loopback.mjs` to completion, removes the container. The spec carries no seccomp
 * profile (nor does the agent add one), so socket(AF_VSOCK) is allowed.
 */
export async function runVsockLoopback(agent: ServiceClient<typeof AgentService>, id: string, rootPath: string): Promise<VsockLoopbackResult> {
  const OCI = busyboxSpec([process.execPath, '/vsock/test/vm-loopback.mjs', String(VSOCK_LOOPBACK_BYTES)], {
    rootPath,
    env: [
      `PATH=${path.dirname(process.execPath)}:/bin`,
      'HOME=/root',
      'NODE_VSOCK_DIST=/vsock/dist/index.js',
      'NODE_VSOCK_NATIVE_DIR=/vsock/build/Release',
      `VSOCK_LOOPBACK_PORT=${VSOCK_LOOPBACK_PORT}`,
    ],
  });
  await agent.createContainer({ containerId: id, execId: id, OCI });
  await agent.startContainer({ containerId: id });
  const [stdout, stderr] = await Promise.all([readAll(agent, id, id, 'stdout'), readAll(agent, id, id, 'stderr')]);
  const { status } = await agent.waitProcess({ containerId: id, execId: id });
  await agent.removeContainer({ containerId: id });
  return { status, stdout: stdout.toString(), stderr: stderr.toString() };
}
