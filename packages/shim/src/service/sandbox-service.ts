/**
 * containerd.runtime.sandbox.v1.Sandbox: what containerd's shim sandbox controller calls when a CRI
 * runtime handler says `sandboxer = "shim"`. Thin handlers: validate, look the sandbox up (any id
 * but the one this shim serves is NOT_FOUND), call the domain (runtime/pod-sandbox.ts), shape the
 * response. Errors become statuses at the server's one boundary (rpc-errors.ts).
 */
import type { ServiceImplementation } from 'ttrpc-ts';
import { OciTypeUrl, packJsonAny } from '@kata-ts/protocol';
import type { SandboxService } from '@kata-ts/protocol/containerd';
import { InvalidArgumentError, UnimplementedError } from '../errors';
import { toTimestamp } from '../runtime/events';
import type { PodSandboxes, SandboxInfo } from '../runtime/pod-sandbox';
import type { SandboxStatus } from '../runtime/pod-sandbox-state';
import { validateId } from './ids';

type Impl = ServiceImplementation<typeof SandboxService>;

/** The CRI's PodSandboxState names, which containerd's CRI reads back from SandboxStatus. */
const CRI_STATE: Record<SandboxStatus, string> = {
  created: 'SANDBOX_NOTREADY',
  ready: 'SANDBOX_READY',
  stopped: 'SANDBOX_NOTREADY',
};

/** Node's names for the CPU → OCI image-spec's (the guest runs the host's architecture). */
const OCI_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function requireId(id: string | null | undefined, what: string): string {
  if (!id) throw new InvalidArgumentError(`${what} must not be empty`);
  return id;
}

/** Verbose status: the shim's own view, as JSON under one key (crictl inspectp shows it as is). */
function verboseInfo(s: SandboxInfo): Record<string, string> {
  return { 'kata-ts': JSON.stringify({ state: s.status, hypervisorPid: s.pid, shimPid: process.pid, sandboxDir: s.dir ?? '', netns: s.netnsPath }) };
}

export function createSandboxService(sandboxes: PodSandboxes): Impl {
  return {
    async createSandbox(req) {
      // Loaded on first use: it brings the CRI's generated types, which a pause-container pod never needs.
      const { podConfigFrom } = await import('./pod-config-trans');
      sandboxes.create({
        sandboxId: validateId(req.sandboxId, 'sandbox_id'),
        bundle: requireId(req.bundlePath, 'bundle_path'),
        netnsPath: req.netnsPath ?? '',
        pod: podConfigFrom(req.options),
        annotations: req.annotations ?? {},
        rootfsMounts: req.rootfs?.length ?? 0,
      });
      return {};
    },

    async startSandbox(req) {
      const started = await sandboxes.get(validateId(req.sandboxId, 'sandbox_id')).start();
      return { pid: started.pid, createdAt: toTimestamp(started.createdAt), spec: packJsonAny(OciTypeUrl.Spec, started.spec) };
    },

    async platform(req) {
      sandboxes.get(validateId(req.sandboxId, 'sandbox_id'));
      return { platform: { os: 'linux', architecture: OCI_ARCH[process.arch] ?? process.arch } };
    },

    async stopSandbox(req) {
      await sandboxes.get(validateId(req.sandboxId, 'sandbox_id')).stop(req.timeoutSecs ?? 0);
      return {};
    },

    async waitSandbox(req) {
      const exit = await sandboxes.get(validateId(req.sandboxId, 'sandbox_id')).wait();
      return { exitStatus: exit.status, exitedAt: toTimestamp(exit.exitedAt) };
    },

    async sandboxStatus(req) {
      const s = sandboxes.get(validateId(req.sandboxId, 'sandbox_id')).info();
      return {
        sandboxId: s.id,
        pid: s.pid,
        state: CRI_STATE[s.status],
        info: req.verbose ? verboseInfo(s) : {},
        createdAt: toTimestamp(s.createdAt),
        exitedAt: toTimestamp(s.exit?.exitedAt),
      };
    },

    async pingSandbox(req) {
      sandboxes.get(validateId(req.sandboxId, 'sandbox_id'));
      return {};
    },

    async shutdownSandbox(req) {
      await sandboxes.shutdown(validateId(req.sandboxId, 'sandbox_id'));
      return {};
    },

    async sandboxMetrics(req) {
      sandboxes.get(validateId(req.sandboxId, 'sandbox_id'));
      throw new UnimplementedError('sandbox metrics are not implemented by kata-ts (Task.Stats reports each container)');
    },

    async updateSandbox(req) {
      // containerd's CRI tolerates UNIMPLEMENTED here (pod resource updates then reach only the containers).
      sandboxes.get(validateId(req.sandboxId, 'sandbox_id'));
      throw new UnimplementedError('updating a sandbox is not implemented by kata-ts');
    },
  };
}
