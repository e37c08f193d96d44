/**
 * A private CRI-O (built from its Go module by scripts/install-peers.sh) as a CriDaemon: its own crio.conf
 * and an empty --config-dir (so /etc/crio is never read), its own registries.conf (--registries-conf*),
 * signature policy and storage.conf; containers/storage root and runroot, socket, namespaces, exits,
 * attach sockets, version files, logs and runtime roots all in one mkdtemp directory. It runs inside the
 * test's netns (nsenter --net), so CNI's bridge, the pods' veths and its streaming server stay there.
 * Handlers: `runc` (Debian's, through conmon; the default) and `kata` → runtime_type "vm": CRI-O runs the
 * installed containerd-shim-kata-v2 itself and talks task API v2 to it over ttrpc.
 *
 * Images come in without a registry: Debian's skopeo copies the OCI layout tar into CRI-O's storage, in a
 * private mount namespace whose /var/lib is an empty tmpfs (containers/image keeps root's blob-info cache
 * in /var/lib/containers/cache whatever it is told; there it vanishes with the namespace).
 *
 * Host paths outside the temp dir, as measured (strace, find -newer): libcni's result cache
 * /var/lib/cni/results/<network>-<id>-eth0 (no CRI-O setting; written per pod, removed by CNI DEL); the
 * kata-ts shim's own /run/containerd/s/<hash> and /run/kata-ts/sbs/<id>; cgroupfs cgroups crio-<id>,
 * crio-conmon-<id> and the shared /crio parent (CRI-O leaves crio-conmon-<id> of failed creations: stop()
 * removes those of its ids). Read only: /etc/ssl, absent SELinux files. Nothing under /etc/crio,
 * /etc/containers, /var/lib/containers, /var/run/crio or /var/lib/crio.
 *
 * Limits on this host: a runc pod whose pid namespace is POD needs an infra container, whose oom_score_adj
 * -998 this sandbox refuses (no CAP_SYS_RESOURCE): use pid CONTAINER, the kubelet's default. Debian's crun
 * 1.8.1 refuses CRI-O's runtime-spec 1.2 specs, so it is no handler here.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { peerProgram, builtPeers } from './containerd-versions';
import type { CriDaemon } from './cri-daemon';
import { Crictl, crictlPath } from './crictl';
import { runOk } from './exec';
import { which } from './host-requirements';
import { INSTALLED_CONFIGS, KATA_STATE_DIR } from './kata-install';
import type { Footprint } from './leftovers';
import { cgroupMountPoints } from './procfs';
import { endOwnedProcesses, terminate, unmountUnder, waitUntil } from './teardown';
import { bridgeConflist, type BridgeNetwork } from './test-netns';
import { ensurePauseImage } from './test-image';

export const CRIO_KATA_HANDLER = 'kata';
/** The installed shim; CRI-O runs `<shim> ... start` itself (no containerd, no conmon). */
export const KATA_SHIM = '/usr/local/bin/containerd-shim-kata-v2';
/** Where the kata-ts shim puts its socket: CRI-O passes `-address ""`, namespace `default`. */
const SHIM_SOCKET_DIR = '/run/containerd/s';
/** CRI-O talks to every vm-type shim in this containerd namespace. */
const SHIM_NAMESPACE = 'default';
/** libcni's default cache directory, which CRI-O's ocicni uses (no setting): <dir>/results/<network>-<id>-<ifname>. */
const CNI_CACHE_DIR = '/var/lib/cni';
/** Programs the fixture runs besides the peers (CRI-O itself needs `nft` for a pod with a hostPort). */
const HOST_PROGRAMS = ['conmon', 'runc', 'skopeo', 'nsenter', 'unshare', 'nft'] as const;

export interface CrioOptions {
  /** The test netns CRI-O (and so CNI's bridge and its streaming server) lives in. */
  netnsPath: string;
  /** The CNI bridge network for pods. */
  network: BridgeNetwork;
  /** containers/storage driver. Default overlay where the kernel has it, else vfs. */
  storageDriver?: 'overlay' | 'vfs';
  /** CRI-O's log level. Default info (KATA_TS_CRIO_LOG_LEVEL overrides). */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * The kata handler's shim (its name must match containerd-shim-*-v2). Default: KATA_TS_CRIO_KATA_SHIM (a
   * development bundle), else the installed one.
   */
  kataShim?: string;
  /** How long CRI-O may take to answer. Default 60 s. */
  startTimeoutMs?: number;
}

/** Every path of one private CRI-O. */
export interface CrioLayout {
  dir: string;
  configFile: string;
  /** --config-dir: empty, so no drop-in from /etc/crio/crio.conf.d is read. */
  configDir: string;
  socket: string;
  root: string;
  runroot: string;
  logFile: string;
  cniDir: string;
  policyFile: string;
  registriesConf: string;
  registriesConfDir: string;
  storageConf: string;
  /** Empty registries.d for skopeo (signature lookaside). */
  registriesD: string;
  /** Big-file temp dir for skopeo's and CRI-O's image copies. */
  tmp: string;
}

function crioLayout(dir: string): CrioLayout {
  const p = (name: string) => path.join(dir, name);
  return {
    dir, configFile: p('crio.conf'), configDir: p('crio.conf.d'), socket: p('crio.sock'), root: p('root'), runroot: p('run'),
    logFile: p('crio.log'), cniDir: p('cni'), policyFile: p('policy.json'), registriesConf: p('registries.conf'),
    registriesConfDir: p('registries.conf.d'), storageConf: p('storage.conf'), registriesD: p('registries.d'), tmp: p('tmp'),
  };
}

/** Why a private CRI-O cannot run here, or undefined when it can. */
export function crioSkipReason(): string | undefined {
  const missing: string[] = [];
  if (!peerProgram('crio', 'crio') || !peerProgram('crio', 'pinns')) missing.push('crio and pinns (scripts/install-peers.sh crio)');
  if (!crictlPath()) missing.push('crictl (scripts/install-peers.sh cri-tools)');
  missing.push(...HOST_PROGRAMS.filter((p) => !which(p)));
  if (!existsSync(KATA_SHIM)) missing.push(KATA_SHIM);
  return missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;
}

const q = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes
const list = (items: readonly string[]) => `[${items.map(q).join(', ')}]`;

interface ConfOptions {
  kataShim: string;
  pinns: string;
  driver: string;
  logLevel: string;
  kataConfig: string;
  pauseRef: string;
}

/** crio.conf: every path CRI-O would otherwise take from /var/run, /var/lib, /var/log, /etc or /usr/share points into `dir`. */
function renderCrioConf(l: CrioLayout, o: ConfOptions): string {
  const d = (name: string) => q(path.join(l.dir, name));
  const ociHandler = (name: string, binary: string) => [
    `[crio.runtime.runtimes.${name}]`,
    `runtime_path = ${q(binary)}`, 'runtime_type = "oci"', `runtime_root = ${d(name)}`,
    `monitor_path = ${q(which('conmon') ?? 'conmon')}`, 'monitor_cgroup = "pod"',
  ];
  return [
    '[crio]',
    `root = ${q(l.root)}`, `runroot = ${q(l.runroot)}`, `storage_driver = ${q(o.driver)}`,
    `log_dir = ${d('pod-logs')}`, `version_file = ${d('version')}`, `version_file_persist = ${d('version-persist')}`,
    `clean_shutdown_file = ${d('clean.shutdown')}`,
    '[crio.api]',
    `listen = ${q(l.socket)}`, 'stream_address = "127.0.0.1"', 'stream_port = "0"',
    '[crio.runtime]',
    'default_runtime = "runc"', 'cgroup_manager = "cgroupfs"', `log_level = ${q(o.logLevel)}`,
    `pinns_path = ${q(o.pinns)}`, `namespaces_dir = ${d('ns')}`,
    `container_exits_dir = ${d('exits')}`, `container_attach_socket_dir = ${d('attach')}`,
    `decryption_keys_path = ${d('keys')}`, 'hooks_dir = []', 'cdi_spec_dirs = []',
    'irqbalance_config_file = ""', 'irqbalance_config_restore_file = ""',
    ...ociHandler('runc', which('runc') ?? 'runc'),
    // CRI-O registers a built-in `crun` handler whatever default_runtime says, and runs `crun --version` and
    // `crun features` at start (crun makes /run/crun). Debian's crun 1.8.1 refuses CRI-O's 1.2 specs anyway:
    // a runtime_path that does not exist makes CRI-O drop the handler ("is being ignored").
    ...ociHandler('crun', path.join(l.dir, 'crun-disabled')),
    `[crio.runtime.runtimes.${CRIO_KATA_HANDLER}]`,
    `runtime_path = ${q(o.kataShim)}`, 'runtime_type = "vm"', `runtime_root = ${d('vc')}`,
    `runtime_config_path = ${q(o.kataConfig)}`, 'privileged_without_host_devices = true',
    // No allowed_annotations: CRI-O 1.34 accepts only its own experimental keys there and drops a handler that
    // lists "io.katacontainers.*"; pod annotations reach the shim's spec without it.
    '[crio.image]',
    `pause_image = ${q(o.pauseRef)}`, 'pause_command = ""', `signature_policy = ${q(l.policyFile)}`,
    `signature_policy_dir = ${d('policies')}`, `big_files_temporary_dir = ${q(l.tmp)}`,
    '[crio.network]',
    `network_dir = ${q(l.cniDir)}`, `plugin_dirs = ${list(['/usr/lib/cni'])}`,
    '[crio.nri]',
    'enable_nri = false',
    '',
  ].join('\n');
}

/** Processes whose working directory or root is under `dir` (shims run in their bundle; conmon names it in argv). */
function processesInside(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    for (const link of ['cwd', 'root']) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${name}/${link}`);
      } catch {
        continue; // gone, or a kernel thread
      }
      if (target === dir || target.startsWith(`${dir}/`)) {
        pids.push(Number(name));
        break;
      }
    }
  }
  return pids;
}

export class CrioDaemon implements CriDaemon {
  readonly kataHandler = CRIO_KATA_HANDLER;
  private child: ChildProcess | undefined;
  private exited = false;
  private stopping: Promise<void> | undefined;
  /** Processes seen inside the temp dir before teardown (shims, their QEMUs, conmon): leftovers if alive later. */
  private readonly seenPids = new Set<number>();
  /** cgroup directories that existed before CRI-O started (its shared /crio parent may be someone else's). */
  private readonly cgroupsBefore = new Set<string>();

  private constructor(readonly layout: CrioLayout, readonly version: string, readonly storageDriver: string, private readonly network: string) {}

  get label(): string {
    return `CRI-O ${this.version}`;
  }

  get endpoint(): string {
    return `unix://${this.layout.socket}`;
  }

  /** CRI-O's pid (nsenter execs it). */
  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** Starts CRI-O with its config, waits until it answers with the kata handler registered. */
  static async start(options: CrioOptions): Promise<CrioDaemon> {
    const crio = peerProgram('crio', 'crio');
    const pinns = peerProgram('crio', 'pinns');
    if (!crio || !pinns) throw new Error(`CRI-O is not built: ${crioSkipReason()}`);
    const kataConfig = INSTALLED_CONFIGS.find((f) => existsSync(f));
    if (!kataConfig) throw new Error(`no kata-ts configuration in ${INSTALLED_CONFIGS.join(' or ')} (run scripts/install.sh)`);
    const pause = await ensurePauseImage();
    const driver = options.storageDriver ?? (readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n') ? 'overlay' : 'vfs');
    const layout = crioLayout(mkdtempSync(path.join(tmpdir(), 'kata-ts-crio-')));
    const daemon = new CrioDaemon(layout, builtPeers().crio?.version ?? 'unknown', driver, options.network.name);
    try {
      const logLevel = process.env.KATA_TS_CRIO_LOG_LEVEL ?? options.logLevel ?? 'info';
      daemon.writeFiles(options, { kataShim: options.kataShim ?? process.env.KATA_TS_CRIO_KATA_SHIM ?? KATA_SHIM, pinns, driver, kataConfig, logLevel, pauseRef: pause.ref });
      await daemon.recordCgroups();
      daemon.spawn(crio, options.netnsPath);
      await daemon.waitReady(options.startTimeoutMs ?? 60_000);
      await daemon.importImage(pause.tarPath, pause.ref);
    } catch (err) {
      await daemon.stop().catch(() => undefined);
      throw err;
    }
    return daemon;
  }

  private writeFiles(options: CrioOptions, conf: ConfOptions): void {
    const l = this.layout;
    for (const d of [l.configDir, l.cniDir, l.registriesConfDir, l.registriesD, l.tmp]) mkdirSync(d, { recursive: true });
    writeFileSync(l.configFile, renderCrioConf(l, conf));
    writeFileSync(path.join(l.cniDir, '10-kata-ts.conflist'), JSON.stringify(bridgeConflist(options.network), null, 2));
    writeFileSync(l.policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    writeFileSync(l.registriesConf, 'unqualified-search-registries = []\n');
    writeFileSync(l.storageConf, `[storage]\ndriver = ${q(conf.driver)}\ngraphroot = ${q(l.root)}\nrunroot = ${q(l.runroot)}\n`);
  }

  /** Environment for CRI-O and skopeo: containers/storage and registries.conf are read from our files, not /etc/containers. */
  private env(): NodeJS.ProcessEnv {
    const l = this.layout;
    return { ...process.env, CONTAINERS_STORAGE_CONF: l.storageConf, CONTAINERS_REGISTRIES_CONF: l.registriesConf, TMPDIR: l.tmp };
  }

  private spawn(crio: string, netnsPath: string): void {
    const l = this.layout;
    const argv = ['nsenter', `--net=${netnsPath}`, '--', crio, '--config', l.configFile, '--config-dir', l.configDir,
      '--registries-conf', l.registriesConf, '--registries-conf-dir', l.registriesConfDir];
    const log = openSync(l.logFile, 'a');
    try {
      this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log], env: this.env(), cwd: l.dir });
    } finally {
      closeSync(log);
    }
    this.child.once('exit', () => (this.exited = true));
    this.child.once('error', () => (this.exited = true));
  }

  private crictl(): Crictl {
    return new Crictl(this.endpoint);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const crictl = this.crictl();
    let why = '';
    try {
      const ready = await waitUntil(async () => {
        if (this.exited) return true;
        const r = await crictl.run(['info', '-o', 'json'], { timeoutMs: 5_000 });
        if (r.code !== 0) {
          why = r.stderr.trim().split('\n').pop() ?? '';
          return false;
        }
        const info = JSON.parse(r.stdout) as { runtimeHandlers?: { name?: string }[] };
        const handlers = (info.runtimeHandlers ?? []).map((h) => h.name);
        if (handlers.includes(CRIO_KATA_HANDLER)) return true;
        throw new Error(`CRI-O is up without the ${CRIO_KATA_HANDLER} handler (has ${handlers.join(', ')}); log tail:\n${this.logTail()}`);
      }, timeoutMs, 200);
      if (this.exited || !ready) {
        throw new Error(`private CRI-O ${this.exited ? 'exited' : `did not answer in ${timeoutMs} ms (${why})`}; log tail:\n${this.logTail()}`);
      }
    } finally {
      crictl.close();
    }
  }

  /**
   * Copies an OCI layout tarball into CRI-O's storage under `ref` with skopeo. Import before creating
   * containers: skopeo (Debian's, an older containers/storage) shares the store with CRI-O through its locks.
   */
  async importImage(tarPath: string, ref: string): Promise<void> {
    const l = this.layout;
    const dest = `containers-storage:[${this.storageDriver}@${l.root}+${l.runroot}]${ref}`;
    const skopeo = ['skopeo', '--policy', l.policyFile, '--registries.d', l.registriesD, '--tmpdir', l.tmp,
      'copy', '--quiet', `oci-archive:${tarPath}`, dest];
    // A private mount namespace with an empty /var/lib: containers/image keeps root's blob-info cache in
    // /var/lib/containers/cache whatever it is told; there it is a tmpfs that dies with the namespace.
    await runOk('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'mount -t tmpfs -o size=4m,mode=0700 kata-ts-skopeo /var/lib && exec "$@"', 'sh', ...skopeo], { env: this.env(), timeoutMs: 120_000 });
    const crictl = this.crictl();
    try {
      await crictl.ok(['inspecti', ref]);
    } finally {
      crictl.close();
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.layout.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /**
   * Pod and container ids CRI-O ever named in its log (64 hex digits; image and layer ids come along,
   * harmlessly): the ids of kata sandboxes whose state, sockets and cgroups must be gone.
   */
  knownIds(): string[] {
    let log = '';
    try {
      log = readFileSync(this.layout.logFile, 'utf8');
    } catch {
      return [];
    }
    return [...new Set(log.match(/\b[0-9a-f]{64}\b/g) ?? [])];
  }

  /** The kata-ts shim's socket for a pod CRI-O started: hex(sha256("default/<id>")) in /run/containerd/s. */
  static shimSocket(sandboxId: string): string {
    return path.join(SHIM_SOCKET_DIR, createHash('sha256').update(path.join('', SHIM_NAMESPACE, sandboxId)).digest('hex'));
  }

  /**
   * The temp dir, each known sandbox's kata state dir and shim socket, CRI-O's pid and every process
   * seen inside the temp dir (shims run in their bundle; QEMU names the kata state dir in its argv).
   */
  footprint(): Footprint {
    const ids = this.knownIds();
    if (existsSync(this.layout.dir)) for (const pid of processesInside(this.layout.dir)) this.seenPids.add(pid);
    return {
      paths: [
        this.layout.dir,
        ...ids.map((id) => path.join(KATA_STATE_DIR, 'sbs', id)),
        ...ids.map((id) => CrioDaemon.shimSocket(id)),
        // libcni's result cache (CRI-O has no setting for its directory): written per pod, removed by CNI DEL.
        ...ids.map((id) => path.join(CNI_CACHE_DIR, 'results', `${this.network}-${id}-eth0`)),
      ],
      pids: [...new Set([...(this.pid ? [this.pid] : []), ...this.seenPids])],
    };
  }

  /** Removes every pod, stops CRI-O and removes all it left (mounts, cgroups, the temp dir). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    if (this.child && !this.exited) {
      const crictl = this.crictl();
      try {
        // Kills every container at once (a pid 1 that ignores SIGTERM would hold CRI-O's stop for minutes),
        // then removes every pod: kata pods shut their shim and VM down.
        const ids = (await crictl.run(['ps', '--all', '--quiet'], { timeoutMs: 30_000 })).stdout.split('\n').filter(Boolean);
        if (ids.length > 0) await crictl.run(['stop', '--timeout', '0', ...ids], { timeoutMs: 120_000 });
        await crictl.run(['rmp', '--force', '--all'], { timeoutMs: 300_000 });
      } finally {
        crictl.close();
      }
    }
    const footprint = this.footprint(); // records the processes still inside before CRI-O goes
    if (this.pid) await terminate(this.pid, 15_000);
    await endOwnedProcesses(footprint, 5_000);
    const stuck = await unmountUnder(this.layout.dir);
    await this.removeCgroups();
    if (stuck.length > 0) throw new Error(`CRI-O fixture: could not unmount ${stuck.join(', ')}; left ${this.layout.dir}`);
    await rm(this.layout.dir, { recursive: true, force: true });
  }

  private async recordCgroups(): Promise<void> {
    for (const mp of await cgroupMountPoints()) this.cgroupsBefore.add(path.join(mp, 'crio'));
    for (const dir of [...this.cgroupsBefore]) if (!existsSync(dir)) this.cgroupsBefore.delete(dir);
  }

  /**
   * cgroupfs leftovers of this daemon's pods: crio-<id> and crio-conmon-<id> at the top and under the
   * default /crio parent, then /crio itself if it was not there before and is empty. Busy ones stay.
   */
  private async removeCgroups(): Promise<void> {
    const ids = this.knownIds();
    for (const mp of await cgroupMountPoints()) {
      for (const parent of [mp, path.join(mp, 'crio')]) {
        for (const id of ids) {
          for (const name of [`crio-${id}`, `crio-conmon-${id}`]) {
            if (existsSync(path.join(parent, name))) await rmdir(path.join(parent, name)).catch(() => undefined);
          }
        }
      }
      const shared = path.join(mp, 'crio');
      if (!this.cgroupsBefore.has(shared) && existsSync(shared)) await rmdir(shared).catch(() => undefined);
    }
  }
}

/** Starts a private CRI-O for kata-ts with the pause image imported (see CrioDaemon). */
export function startCrio(options: CrioOptions): Promise<CrioDaemon> {
  return CrioDaemon.start(options);
}

