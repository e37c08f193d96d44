/**
 * The CRI tables of a private containerd, in config schema 2 (1.6/1.7: `plugins."io.containerd.grpc.v1.cri"`)
 * or 3 (2.x: the server plus `io.containerd.cri.v1.runtime` and `io.containerd.cri.v1.images`):
 * a locally built sandbox image (never pulled), the runtime handlers the test needs, CNI directories
 * inside the fixture's temp dir (no CNI plugin runs unless CriOptions.cni configures a network), and a
 * streaming server on a loopback ephemeral port so parallel containerds do not clash.
 */
import type { ContainerdLayout } from './containerd-config';

export interface CriRuntime {
  /** Shim runtime name, e.g. io.containerd.kata.v2. */
  runtimeType: string;
  /** The handler's `options` table (for non-runc shims: runtimeoptions.v1.Options, e.g. { ConfigPath }). */
  options?: Record<string, string>;
  /** Pod annotations passed through to the runtime (e.g. io.katacontainers.*). */
  podAnnotations?: string[];
  /** containerd 2.x's sandbox controller for the handler: "podsandbox" (default, a pause container) or "shim" (the Sandbox API). */
  sandboxer?: string;
}

export interface CriOptions {
  /** The pause image reference; it must already be imported into the k8s.io namespace. */
  sandboxImage: string;
  /** Pod networking through CNI: the plugins' directory and the one network list (written to the conf dir). */
  cni?: { binDir: string; conflist: object };
  /** RuntimeClass handler name → runtime (besides the default handler `runc`). */
  runtimes?: Record<string, CriRuntime>;
}

/** The CRI plugin's namespace: CRI's containers, images and tasks all live there. */
export const CRI_NAMESPACE = 'k8s.io';

const CRI_V2 = 'plugins."io.containerd.grpc.v1.cri"';
/** containerd 2.x (config version 3) splits the CRI into a runtime and an images plugin beside the server. */
const CRI_V3_RUNTIME = 'plugins."io.containerd.cri.v1.runtime"';
const CRI_V3_IMAGES = 'plugins."io.containerd.cri.v1.images"';

const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes

/** The runtimes table: the default runc spelled out (a given table replaces the built-in one), then ours. */
function runtimeTables(prefix: string, options: CriOptions): string[] {
  const lines = [`[${prefix}.runtimes.runc]`, '  runtime_type = "io.containerd.runc.v2"'];
  for (const [handler, runtime] of Object.entries(options.runtimes ?? {})) {
    lines.push(`[${prefix}.runtimes.${handler}]`, `  runtime_type = ${q(runtime.runtimeType)}`);
    if (runtime.podAnnotations) lines.push(`  pod_annotations = [${runtime.podAnnotations.map(q).join(', ')}]`);
    if (runtime.sandboxer) lines.push(`  sandboxer = ${q(runtime.sandboxer)}`);
    if (runtime.options) {
      lines.push(`[${prefix}.runtimes.${handler}.options]`);
      for (const [key, value] of Object.entries(runtime.options)) lines.push(`  ${key} = ${q(value)}`);
    }
  }
  return lines;
}

/** Renders the CRI plugin's configuration for a containerd laid out as `layout`, in config schema 2 or 3. */
export function renderCriConfig(layout: ContainerdLayout, options: CriOptions, configVersion: 2 | 3 = 2): string {
  const security = ['  disable_apparmor = true', '  restrict_oom_score_adj = true', '  enable_selinux = false'];
  const server = ['  disable_tcp_service = true', '  stream_server_address = "127.0.0.1"', '  stream_server_port = "0"'];
  const lines = configVersion === 2
    ? [
      `[${CRI_V2}]`,
      `  sandbox_image = ${q(options.sandboxImage)}`,
      ...security,
      ...server,
      `[${CRI_V2}.containerd]`,
      '  snapshotter = "overlayfs"',
      '  default_runtime_name = "runc"',
      ...runtimeTables(`${CRI_V2}.containerd`, options),
      `[${CRI_V2}.cni]`,
      `  bin_dir = ${q(options.cni?.binDir ?? layout.cniDir)}`,
      `  conf_dir = ${q(layout.cniDir)}`,
    ]
    : [
      `[${CRI_V2}]`,
      ...server,
      `[${CRI_V3_IMAGES}]`,
      '  snapshotter = "overlayfs"',
      `[${CRI_V3_IMAGES}.pinned_images]`,
      `  sandbox = ${q(options.sandboxImage)}`,
      `[${CRI_V3_RUNTIME}]`,
      ...security,
      `[${CRI_V3_RUNTIME}.containerd]`,
      '  default_runtime_name = "runc"',
      ...runtimeTables(`${CRI_V3_RUNTIME}.containerd`, options),
      `[${CRI_V3_RUNTIME}.cni]`,
      `  bin_dirs = [${q(options.cni?.binDir ?? layout.cniDir)}]`,
      `  conf_dir = ${q(layout.cniDir)}`,
    ];
  return `${lines.join('\n')}\n`;
}
