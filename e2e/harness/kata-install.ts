/** What scripts/install.sh put on this host for kata-ts (shim, configuration, guest image), and its manifest. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { which } from './host-requirements';

export const INSTALLED_ASSETS = '/usr/share/kata-ts';
export const INSTALLED_CONFIGS = ['/etc/kata-ts/configuration.toml', '/usr/share/defaults/kata-ts/configuration.toml'];
/** Where the shim keeps per-sandbox state: <STATE_DIR>/sbs/<sandbox id>. */
export const KATA_STATE_DIR = '/run/kata-ts';

/** The parts of a guest image's manifest.json the tests read. */
export interface GuestManifest {
  kernel: { version: string };
  default: { format: string; kernel: string; initrd?: string };
  formats: { disk?: { initrd: string; rootfsImage: string; fsType: string } };
  rootfs?: { agent?: { source?: string } };
}

export function readGuestManifest(imageDir = INSTALLED_ASSETS): GuestManifest {
  return JSON.parse(readFileSync(path.join(imageDir, 'manifest.json'), 'utf8')) as GuestManifest;
}

/** Why the installed kata-ts (or the image in `imageDir`) cannot be tested here, or undefined when it can. */
export function kataSkipReason(imageDir?: string): string | undefined {
  if (!which('containerd-shim-kata-v2')) return 'containerd-shim-kata-v2 is not on PATH (run scripts/install.sh)';
  if (!imageDir && !INSTALLED_CONFIGS.some((f) => existsSync(f))) return 'no kata-ts configuration installed (run scripts/install.sh)';
  const file = path.join(imageDir ?? INSTALLED_ASSETS, 'manifest.json');
  if (!existsSync(file)) return `no guest image manifest at ${file} (run scripts/install.sh)`;
  const agent = readGuestManifest(imageDir).rootfs?.agent?.source ?? '';
  if (agent.includes('standin')) return `the guest image at ${imageDir ?? INSTALLED_ASSETS} holds the stand-in agent, not packages/agent`;
  return undefined;
}
