/**
 * The containerd versions the e2e tier runs against: Debian's 1.6 (on PATH) and the peers that
 * scripts/install-peers.sh builds from their Go modules (1.7.x and 2.x, listed in its manifest). A
 * suite written once runs against each with `describe.each(containerdMatrix())`.
 *
 * KATA_TS_CONTAINERDS=1.6,2.x narrows the matrix (development). Where host tests are required (CI), a
 * peer missing from the manifest fails the suite instead of silently shrinking the matrix.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hostTestsRequired } from './host-requirements';

/** One containerd to test against. */
export interface ContainerdFlavour {
  /** Short name used in test titles and KATA_TS_CONTAINERDS: "1.6", "1.7" or "2.x". */
  label: string;
  /** Directory holding containerd, ctr and containerd-shim-runc-v2; undefined: the ones on PATH. */
  binDir?: string;
  /** The config.toml schema it is configured with: 2 (1.6/1.7) or 3 (2.x, whose CRI plugins are split). */
  configVersion: 2 | 3;
  /** The pinned version, when it is a built peer. */
  version?: string;
}

/** Where scripts/install-peers.sh records what it built. */
export const PEERS_MANIFEST = process.env.KATA_TS_PEERS_MANIFEST ?? '/var/cache/kata-ts/peers/manifest.json';

interface PeerEntry {
  version: string;
  bin: string;
}

/** The peers install-peers.sh built, by name ("containerd2", "cri-tools", ...); empty when none. */
export function builtPeers(): Record<string, PeerEntry> {
  if (!existsSync(PEERS_MANIFEST)) return {};
  return JSON.parse(readFileSync(PEERS_MANIFEST, 'utf8')) as Record<string, PeerEntry>;
}

/** The path of a peer's program, or undefined when that peer was not built. */
export function peerProgram(peer: string, program: string): string | undefined {
  const entry = builtPeers()[peer];
  if (!entry) return undefined;
  const file = path.join(entry.bin, program);
  return existsSync(file) ? file : undefined;
}

const DEBIAN_16: ContainerdFlavour = { label: '1.6', configVersion: 2 };
const PEER_FLAVOURS: { peer: string; label: string; configVersion: 2 | 3 }[] = [
  { peer: 'containerd17', label: '1.7', configVersion: 2 },
  { peer: 'containerd2', label: '2.x', configVersion: 3 },
];

/** Every containerd this host can test against (1.6 always; the peers that were built). */
export function availableContainerds(): { flavours: ContainerdFlavour[]; missing: string[] } {
  const peers = builtPeers();
  const flavours = [DEBIAN_16];
  const missing: string[] = [];
  for (const f of PEER_FLAVOURS) {
    const entry = peers[f.peer];
    if (entry && existsSync(path.join(entry.bin, 'containerd'))) flavours.push({ label: f.label, configVersion: f.configVersion, binDir: entry.bin, version: entry.version });
    else missing.push(`containerd ${f.label} (scripts/install-peers.sh ${f.peer})`);
  }
  return { flavours, missing };
}

/**
 * The containerds a suite runs against, as rows for describe.each. Throws under CI when a peer is
 * missing, so a broken peer build cannot pass as a smaller matrix.
 */
export function containerdMatrix(): [string, ContainerdFlavour][] {
  const { flavours, missing } = availableContainerds();
  const wanted = process.env.KATA_TS_CONTAINERDS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted && missing.length > 0) {
    if (hostTestsRequired()) throw new Error(`containerd matrix: missing ${missing.join(', ')}`);
    process.stderr.write(`containerd matrix: not testing ${missing.join(', ')}\n`);
  }
  const chosen = wanted ? flavours.filter((f) => wanted.includes(f.label)) : flavours;
  if (wanted && chosen.length !== wanted.length) throw new Error(`KATA_TS_CONTAINERDS=${wanted.join(',')}: only ${flavours.map((f) => f.label).join(', ')} are available`);
  return chosen.map((f) => [f.version ? `containerd ${f.label} (${f.version})` : `containerd ${f.label} (Debian)`, f]);
}
