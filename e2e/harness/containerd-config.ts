/** The config.toml of a private containerd: every path it writes lives under one directory. */
import path from 'node:path';
import { CriOptions, renderCriConfig } from './cri-config';

export interface ContainerdLayout {
  /** The temporary directory that owns everything below. */
  dir: string;
  root: string;
  state: string;
  /** gRPC socket (what `ctr --address` takes). */
  address: string;
  /** containerd's ttrpc socket, where shims Forward events: always `<address>.ttrpc`. */
  ttrpcAddress: string;
  /** The opt plugin's directory (default /opt/containerd). */
  opt: string;
  logFile: string;
  configFile: string;
  /** The CRI plugin's CNI conf directory (and bin directory unless CriOptions.cni names one). */
  cniDir: string;
}

export interface ConfigOptions {
  /** Keep the CRI plugin (slow to start, off by default); with options, also configure it. */
  cri?: boolean | CriOptions;
  /** containerd log level. Default "info". */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Run containerd in this network namespace (a path such as /var/run/netns/<name>; nsenter --net). */
  netnsPath?: string;
  /** config.toml schema: 2 (containerd 1.6/1.7) or 3 (2.x). Default 2. */
  configVersion?: 2 | 3;
  /** Extra TOML appended verbatim (runtimes, CRI settings); it must not repeat a table written here. */
  extraToml?: string;
}

/** Where a private containerd rooted at `dir` keeps its things. */
export function containerdLayout(dir: string): ContainerdLayout {
  const address = path.join(dir, 'containerd.sock');
  return {
    dir,
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    address,
    ttrpcAddress: `${address}.ttrpc`,
    opt: path.join(dir, 'opt'),
    logFile: path.join(dir, 'containerd.log'),
    configFile: path.join(dir, 'config.toml'),
    cniDir: path.join(dir, 'cni'),
  };
}

/** The plugins that make up the CRI, per config schema (2.x split it into runtime and images plugins). */
const CRI_PLUGINS = {
  2: ['io.containerd.grpc.v1.cri'],
  3: ['io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images', 'io.containerd.podsandbox.controller.v1.podsandbox'],
} as const;

/**
 * Renders config.toml in the schema of the containerd it is for: version 2 (1.6/1.7) or version 3
 * (2.x; it would migrate a version 2 file, but users of 2.x write version 3, so the tests do too).
 */
export function renderConfig(layout: ContainerdLayout, options: ConfigOptions = {}): string {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes
  const version = options.configVersion ?? 2;
  return [
    `version = ${version}`,
    `root = ${q(layout.root)}`,
    `state = ${q(layout.state)}`,
    `disabled_plugins = [${options.cri ? '' : CRI_PLUGINS[version].map(q).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${q(layout.address)}`,
    '[ttrpc]',
    `  address = ${q(layout.ttrpcAddress)}`,
    '[debug]',
    '  address = ""',
    `  level = ${q(options.logLevel ?? 'info')}`,
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(layout.opt)}`,
    '',
    typeof options.cri === 'object' ? renderCriConfig(layout, options.cri, version) : '',
    options.extraToml ?? '',
  ].join('\n');
}
