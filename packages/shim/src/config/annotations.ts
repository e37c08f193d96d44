/**
 * Annotations that change settings: `io.katacontainers.config.hypervisor.<key>`, applied only when
 * `<key>` matches an entry of [hypervisor.qemu] enable_annotations (an anchored regular
 * expression, as in Kata). Anything else is ignored and reported, so a pod cannot pick its own
 * hypervisor binary or kernel unless the administrator allowed it.
 */
import type { HypervisorConfig, ShimConfig } from './config';

export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';

type Setter = (h: HypervisorConfig, value: string) => string | undefined;

function intSetter(key: 'defaultVcpus' | 'defaultMaxVcpus' | 'defaultMemory' | 'msize9p', min: number): Setter {
  return (h, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) return `expected an integer >= ${min}`;
    h[key] = n;
    return undefined;
  };
}

/** The settings an annotation may change, by their TOML key. */
const SETTERS: Record<string, Setter> = {
  default_vcpus: intSetter('defaultVcpus', 1),
  default_maxvcpus: intSetter('defaultMaxVcpus', 0),
  default_memory: intSetter('defaultMemory', 64),
  msize_9p: intSetter('msize9p', 4096),
  kernel_params: (h, value) => {
    h.kernelParams = `${h.kernelParams} ${value}`.trim();
    return undefined;
  },
  enable_debug: (h, value) => {
    if (value !== 'true' && value !== 'false') return 'expected true or false';
    h.enableDebug = value === 'true';
    return undefined;
  },
  path: (h, value) => {
    if (!h.validHypervisorPaths.includes(value)) return 'not in valid_hypervisor_paths';
    h.path = value;
    return undefined;
  },
};

export interface AnnotationOutcome {
  config: ShimConfig;
  /** Annotations that were not applied, with the reason. */
  rejected: Array<{ key: string; reason: string }>;
}

function allowed(key: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    try {
      return new RegExp(`^(?:${p})$`).test(key);
    } catch {
      return false;
    }
  });
}

/** Returns a copy of the configuration with the allowed annotations applied. */
export function applyAnnotations(config: ShimConfig, annotations: Record<string, string> | undefined): AnnotationOutcome {
  const hypervisor: HypervisorConfig = { ...config.hypervisor };
  const rejected: AnnotationOutcome['rejected'] = [];
  for (const [name, value] of Object.entries(annotations ?? {})) {
    if (!name.startsWith(HYPERVISOR_ANNOTATION_PREFIX)) continue;
    const key = name.slice(HYPERVISOR_ANNOTATION_PREFIX.length);
    const setter = SETTERS[key];
    if (!setter) {
      rejected.push({ key: name, reason: 'not a setting annotations can change' });
    } else if (!allowed(key, config.hypervisor.enableAnnotations)) {
      rejected.push({ key: name, reason: 'not in enable_annotations' });
    } else {
      const problem = setter(hypervisor, value);
      if (problem) rejected.push({ key: name, reason: problem });
    }
  }
  return { config: { ...config, hypervisor }, rejected };
}
