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

/** Renders config.toml (version 2, understood by containerd 1.6 through 2.x). */
export function renderConfig(layout: ContainerdLayout, options: ConfigOptions = {}): string {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes
  return [
    'version = 2',
    `root = ${q(layout.root)}`,
    `state = ${q(layout.state)}`,
    options.cri ? 'disabled_plugins = []' : 'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
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
    typeof options.cri === 'object' ? renderCriConfig(layout, options.cri) : '',
    options.extraToml ?? '',
  ].join('\n');
}
