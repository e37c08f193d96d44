/**
 * containerd's CRI plugin as a CriDaemon: a private containerd of the given flavour, run inside a
 * test-owned netns with a CNI bridge there, the pause image pinned, handler `kata` → io.containerd.kata.v2.
 */
import { readFileSync } from 'node:fs';
import { PrivateContainerd } from './containerd';
import type { ContainerdFlavour } from './containerd-versions';
import { CRI_NAMESPACE } from './cri-config';
import type { CriDaemon } from './cri-daemon';
import type { Footprint } from './leftovers';
import { bridgeConflist, type BridgeNetwork } from './test-netns';
import { ensurePauseImage } from './test-image';

/** Debian's CNI plugins. */
export const CNI_BIN_DIR = '/usr/lib/cni';
export const KATA_HANDLER = 'kata';

export interface ContainerdCriOptions {
  flavour: ContainerdFlavour;
  /** The test netns the daemon (and so CNI's bridge) lives in. */
  netnsPath: string;
  /** The CNI bridge network for pods. */
  network: BridgeNetwork;
}

class ContainerdCriDaemon implements CriDaemon {
  readonly kataHandler = KATA_HANDLER;

  constructor(readonly ctd: PrivateContainerd) {}

  get label(): string {
    const f = this.ctd.flavour;
    return `containerd ${f.label}${f.version ? ` (${f.version})` : ''}`;
  }

  get endpoint(): string {
    return `unix://${this.ctd.layout.address}`;
  }

  async importImage(tarPath: string): Promise<void> {
    await this.ctd.importImage(tarPath, CRI_NAMESPACE);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.ctd.layout.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  footprint(): Footprint {
    return this.ctd.footprint();
  }

  stop(): Promise<void> {
    return this.ctd.stop();
  }
}

/** Starts containerd with its CRI plugin for kata-ts and the pause image imported. */
export async function startContainerdCri(options: ContainerdCriOptions): Promise<CriDaemon & { ctd: PrivateContainerd }> {
  const pause = await ensurePauseImage();
  const ctd = await PrivateContainerd.start({
    flavour: options.flavour,
    namespace: CRI_NAMESPACE,
    netnsPath: options.netnsPath,
    cri: {
      sandboxImage: pause.ref,
      runtimes: { [KATA_HANDLER]: { runtimeType: 'io.containerd.kata.v2', podAnnotations: ['io.katacontainers.*'] } },
      cni: { binDir: CNI_BIN_DIR, conflist: bridgeConflist(options.network) },
    },
  });
  const daemon = new ContainerdCriDaemon(ctd);
  try {
    await daemon.importImage(pause.tarPath);
  } catch (err) {
    await ctd.stop();
    throw err;
  }
  return Object.assign(daemon, { ctd });
}
