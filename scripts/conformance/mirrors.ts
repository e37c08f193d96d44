/**
 * How the daemons under test are pointed at the local registry instead of the registries critest
 * names: containerd through a hosts.toml per registry under its CRI `config_path`, CRI-O through a
 * registries.conf drop-in. Both map a registry host to the mirror and keep the repository path, which
 * is how registry.ts names repositories. A pull the mirror cannot serve falls back to the real
 * registry, which is unreachable from the run's netns, so it fails at once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The registries critest v1.37.0 pulls from (and docker.io/quay.io for anything else). */
export const MIRRORED_REGISTRIES = ['registry.k8s.io', 'k8s.gcr.io', 'gcr.io', 'docker.io', 'quay.io'] as const;

/** The upstream endpoint containerd would use for a registry host. */
function upstream(host: string): string {
  return host === 'docker.io' ? 'https://registry-1.docker.io' : `https://${host}`;
}

/**
 * Writes containerd's registry host directory (the CRI images plugin's `config_path`): one hosts.toml
 * per registry plus `_default`, each with the plain-HTTP mirror at 127.0.0.1:<port> first.
 */
export function writeContainerdHosts(dir: string, port: number): void {
  for (const host of [...MIRRORED_REGISTRIES, '_default']) {
    mkdirSync(path.join(dir, host), { recursive: true });
    const server = host === '_default' ? [] : [`server = ${JSON.stringify(upstream(host))}`, ''];
    writeFileSync(path.join(dir, host, 'hosts.toml'), [
      ...server,
      `[host."http://127.0.0.1:${port}"]`,
      '  capabilities = ["pull", "resolve"]',
      '',
    ].join('\n'));
  }
}

/** The TOML that makes containerd 2.x's CRI read `dir` (config schema 3). */
export function containerdRegistryToml(dir: string): string {
  return ['[plugins."io.containerd.cri.v1.images".registry]', `  config_path = ${JSON.stringify(dir)}`, ''].join('\n');
}

/** A registries.conf drop-in for CRI-O (containers/image): each registry mirrored by 127.0.0.1:<port>, insecure (HTTP). */
export function crioRegistriesDropIn(port: number): string {
  return MIRRORED_REGISTRIES.flatMap((host) => [
    '[[registry]]',
    `prefix = ${JSON.stringify(host)}`,
    `location = ${JSON.stringify(host)}`,
    '[[registry.mirror]]',
    `location = "127.0.0.1:${port}"`,
    'insecure = true',
    '',
  ]).join('\n');
}
