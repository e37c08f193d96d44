/**
 * Whether a new sandbox can take a warm pool VM, decided in `start` from the bundle's spec and the
 * configuration (the daemon checks the VM's shape again before adopting it). Pool VMs are default
 * size template clones without NICs, whose QEMU lives outside any pod network namespace: a pod
 * that gets NICs (a netns path, or hooks that may fill a new one) clones the template instead.
 */
import type { ShimConfig } from '../config/config';
import { podPlacement, requestedSizing } from '../oci/annotations';
import type { OciSpec } from '../oci/spec';
import { netnsPathOf } from '../network/netns';
import { vmSizing } from '../runtime/vm-config';

/** Why this sandbox cannot use the pool, or undefined when it can. */
export function poolIneligibility(config: ShimConfig, spec: OciSpec, containerId: string): string | undefined {
  if (config.factory.vmCacheNumber <= 0) return 'vm_cache_number is 0';
  if (!config.factory.enableTemplate) return 'enable_template is off (pool VMs are template clones)';
  if (netnsPathOf(spec)) return 'the pod has a network namespace (pool VMs cannot take NICs yet)';
  const hooks = (spec.hooks ?? {}) as Record<string, unknown[] | undefined>;
  if ((hooks.prestart?.length ?? 0) > 0 || (hooks.createRuntime?.length ?? 0) > 0) return 'the spec has hooks that may wire a network';
  const kind = podPlacement(spec, containerId).kind;
  const sizing = vmSizing(config, requestedSizing(spec, kind));
  if (sizing.vcpus !== config.hypervisor.defaultVcpus || sizing.memoryMiB !== config.hypervisor.defaultMemory) return 'the sandbox asks for a non-default VM size';
  return undefined;
}
