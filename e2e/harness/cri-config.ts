/**
 * The `[plugins."io.containerd.grpc.v1.cri"]` tables of a private containerd (1.6/1.7 config version 2):
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

const CRI = 'plugins."io.containerd.grpc.v1.cri"';

/** Renders the CRI plugin's configuration for a containerd laid out as `layout`. */
export function renderCriConfig(layout: ContainerdLayout, options: CriOptions): string {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes
  const lines = [
    `[${CRI}]`,
    `  sandbox_image = ${q(options.sandboxImage)}`,
    '  disable_apparmor = true',
    '  restrict_oom_score_adj = true',
    '  disable_tcp_service = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    `[${CRI}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    // Runtimes given here replace the built-in table, so the default one is spelled out too.
    `[${CRI}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${CRI}.cni]`,
    `  bin_dir = ${q(options.cni?.binDir ?? layout.cniDir)}`,
    `  conf_dir = ${q(layout.cniDir)}`,
  ];
  for (const [handler, runtime] of Object.entries(options.runtimes ?? {})) {
    lines.push(`[${CRI}.containerd.runtimes.${handler}]`, `  runtime_type = ${q(runtime.runtimeType)}`);
    if (runtime.options) {
      lines.push(`[${CRI}.containerd.runtimes.${handler}.options]`);
      for (const [key, value] of Object.entries(runtime.options)) lines.push(`  ${key} = ${q(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
