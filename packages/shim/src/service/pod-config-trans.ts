/**
 * CreateSandbox's options → the domain PodConfig. containerd's CRI marshals its PodSandboxConfig
 * there (type URL runtime.v1.PodSandboxConfig); the generated CRI types stop here. Loaded only when
 * a sandbox is created through the Sandbox API: the CRI module is large, and a pod started from a
 * pause container never needs it.
 */
import { typeUrlMatches, type AnyMessage } from '@kata-ts/protocol';
import { CriTypeUrl, criCodecs } from '@kata-ts/protocol/cri';
import { InvalidArgumentError } from '../errors';
import type { PodConfig } from '../oci/pod-sandbox-spec';

/** The pod's config from CreateSandboxRequest.options; an empty one when there are no options. */
export function podConfigFrom(options: AnyMessage | null | undefined): PodConfig {
  const typeUrl = options?.type_url ?? '';
  if (!typeUrl) return { hostname: '', annotations: {} };
  if (!typeUrlMatches(typeUrl, CriTypeUrl.PodSandboxConfig)) {
    throw new InvalidArgumentError(`sandbox options of type ${typeUrl} are not supported (expected ${CriTypeUrl.PodSandboxConfig})`);
  }
  let c;
  try {
    c = criCodecs.podSandboxConfig.decode(options?.value ?? new Uint8Array());
  } catch (err) {
    throw new InvalidArgumentError(`cannot decode ${CriTypeUrl.PodSandboxConfig}: ${(err as Error).message}`);
  }
  const r = c.linux?.resources;
  return {
    hostname: c.hostname ?? '',
    annotations: { ...(c.annotations ?? {}) },
    dns: c.dnsConfig ? { servers: c.dnsConfig.servers ?? [], searches: c.dnsConfig.searches ?? [], options: c.dnsConfig.options ?? [] } : undefined,
    resources: r
      ? { cpuPeriod: r.cpuPeriod ?? 0, cpuQuota: r.cpuQuota ?? 0, cpuShares: r.cpuShares ?? 0, memoryLimitInBytes: r.memoryLimitInBytes ?? 0 }
      : undefined,
  };
}
