/**
 * io.containerd.kata.v2 for the shim framework: which shim a container belongs to (one per pod),
 * the `delete` action's cleanup, and the task and sandbox services of serve mode.
 */
import type { ClaimedVm, CleanupResult, ServeContext, ShimGroup, ShimManager, ShimService } from './framework/manager';
import type { AnyMessage } from '@kata-ts/protocol';
import type { ShimFlags } from './framework/flags';
import type { Logger } from './framework/logging';
import { LogOnlyPublisher } from './framework/publisher';
import { isCrioContainer, podPlacement } from './oci/annotations';
import { readSpecIfPresent } from './oci/spec';
import { cleanupContainer } from './runtime/cleanup';
import { REVISION, VERSION } from './version';

/** 128 + SIGKILL: what `delete` reports when the real exit is unknown (as runc and Kata do). */
const KILLED_EXIT_STATUS = 137;

export class KataManager implements ShimManager {
  readonly name = 'io.containerd.kata.v2';
  readonly version = VERSION;
  readonly revision = REVISION;

  async group(bundle: string, id: string): Promise<ShimGroup> {
    const spec = await readSpecIfPresent(bundle);
    // No spec: containerd's shim sandbox controller starting a pod's shim (the Sandbox API creates
    // the sandbox, with no pause container). The pod's containers never run `start`: containerd
    // dials the address this shim returned.
    if (!spec) return { groupId: id, ownsShim: true, privateMountNamespace: true };
    const placement = podPlacement(spec, id);
    // CRI-O mounts each container's rootfs itself, after the pod's shim started, under a storage
    // root that containers/storage makes private: only a shim in CRI-O's mount namespace sees them.
    const privateMountNamespace = !isCrioContainer(spec);
    return placement.kind === 'pod-container'
      ? { groupId: placement.sandboxId, ownsShim: false, privateMountNamespace }
      : { groupId: id, ownsShim: true, privateMountNamespace };
  }

  async claimVm(bundle: string, id: string, options: AnyMessage | undefined): Promise<ClaimedVm | undefined> {
    const spec = await readSpecIfPresent(bundle);
    if (!spec) return undefined;
    // Loaded here: only a new pod's `start` gets this far.
    const [{ loadConfig, runtimeOptionsFrom }, { poolIneligibility }, { claimPoolVm, POOL_VM_ENV, POOL_MISS_ENV }] = await Promise.all([
      import('./config/load'),
      import('./pool/pool-eligibility'),
      import('./pool/pool-client'),
    ]);
    // A configuration that does not load is the daemon's to report.
    const config = await loadConfig(runtimeOptionsFrom(options)).catch(() => undefined);
    if (!config || config.factory.vmCacheNumber <= 0) return undefined;
    const why = poolIneligibility(config, spec, id);
    if (why) return { env: { [POOL_MISS_ENV]: why } };
    const claim = await claimPoolVm(config.factory.vmCacheEndpoint, id);
    if ('reason' in claim) return { env: { [POOL_MISS_ENV]: claim.reason } };
    return { env: { [POOL_VM_ENV]: JSON.stringify({ sandboxId: id, vm: claim.vm }) }, mountNamespacePid: claim.vm.qemuPid };
  }

  async cleanup(flags: ShimFlags, bundle: string, log: Logger): Promise<CleanupResult> {
    const { pid } = await cleanupContainer(bundle, flags.id, log);
    return { pid, exitStatus: KILLED_EXIT_STATUS, exitedAt: new Date() };
  }

  async createService(ctx: ServeContext): Promise<ShimService> {
    // Loaded here, not at the top: `start` and `delete` (run per container by containerd) never need them.
    const [{ TaskRuntime }, { bootQemuSandbox }, { createTaskService }, { PodSandboxes }, { createSandboxService }, { rpcErrorToStatus }] = await Promise.all([
      import('./runtime/task-runtime'),
      import('./runtime/boot'),
      import('./service/task-service'),
      import('./runtime/pod-sandbox'),
      import('./service/sandbox-service'),
      import('./service/rpc-errors'),
    ]);
    const runtime = new TaskRuntime({
      namespace: ctx.flags.namespace,
      log: ctx.log,
      publisher: ctx.publisher,
      bootSandbox: (req) => bootQemuSandbox(req, ctx.log.child({ sandbox: req.sandboxId })),
      requestExit: ctx.requestExit,
      oomFiles: ctx.publisher instanceof LogOnlyPublisher,
    });
    const sandboxes = new PodSandboxes(runtime, ctx.log.child({ subsystem: 'sandbox' }), ctx.runtimeOptions);
    return {
      task: createTaskService(runtime),
      sandbox: createSandboxService(sandboxes),
      toStatus: rpcErrorToStatus(ctx.log.child({ subsystem: 'rpc' })),
      close: () => runtime.close(),
    };
  }
}
