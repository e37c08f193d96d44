/**
 * The CRI daemons the conformance run tests, each started privately inside the run's netns (e2e
 * harness fixtures) and pointed at the local registry: containerd 2.x's CRI plugin with handler `kata`
 * (io.containerd.kata.v2) beside the default runc, and CRI-O with `kata` (runtime_type vm) beside its
 * default runc. critest runs the handlers one after the other against the same daemon.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CRI_NAMESPACE, PrivateContainerd, waitUntil, type ContainerdFlavour } from '../../e2e/harness';
import { CNI_BIN_DIR } from '../../e2e/harness/containerd-cri-daemon';
import { bridgeConflist, type BridgeNetwork } from '../../e2e/harness/test-netns';
import { containerdRegistryToml, crioRegistriesDropIn, writeContainerdHosts } from './mirrors';

/**
 * The pod sandbox image, pulled by the daemons from the local registry (build-images.sh): the default of
 * containerd 2.x and CRI-O 1.34, standing in for the harness's busybox pause whose process is `sleep`.
 */
export const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10';

/** A started daemon, as the run needs it. */
export interface ConformanceDaemon {
  /** "containerd v2.4.2", "CRI-O v1.34.0". */
  label: string;
  /** unix://<socket>, critest's runtime and image endpoint. */
  endpoint: string;
  /** The runtime handler (RuntimeClass) of kata-ts. */
  kataHandler: string;
  /** The daemon's own log, copied into the results when the run ends. */
  logFile: string;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  netnsPath: string;
  network: BridgeNetwork;
  /** The local registry's port on the netns's loopback. */
  registryPort: number;
  /** The run's scratch directory (containerd's registry hosts directory goes there). */
  workDir: string;
}

/** containerd 2.x with its CRI plugin: handlers runc (default) and kata, registry mirrors via hosts.toml. */
export async function startContainerd(flavour: ContainerdFlavour, options: DaemonOptions): Promise<ConformanceDaemon> {
  const hostsDir = path.join(options.workDir, 'containerd-hosts');
  writeContainerdHosts(hostsDir, options.registryPort);
  const ctd = await PrivateContainerd.start({
    flavour,
    namespace: CRI_NAMESPACE,
    netnsPath: options.netnsPath,
    cri: {
      sandboxImage: SANDBOX_IMAGE,
      runtimes: { kata: { runtimeType: 'io.containerd.kata.v2', podAnnotations: ['io.katacontainers.*'] } },
      cni: { binDir: CNI_BIN_DIR, conflist: bridgeConflist({ ...options.network, portmap: true }) },
    },
    extraToml: containerdRegistryToml(hostsDir),
    startTimeoutMs: 60_000,
  });
  return {
    label: `containerd ${flavour.version ?? flavour.label}`,
    endpoint: `unix://${ctd.layout.address}`,
    kataHandler: 'kata',
    logFile: ctd.layout.logFile,
    stop: () => ctd.stop(),
  };
}

/**
 * CRI-O (e2e/harness/crio.ts) with a registries.conf drop-in naming the mirror and a crio.conf drop-in
 * naming SANDBOX_IMAGE, both applied by the reload CRI-O does on SIGHUP (the fixture writes its config
 * files itself before it starts). Its runc handler is runc-restrict-oom.sh, found first on PATH while the
 * fixture writes the config: without it no runc pod starts on a host lacking CAP_SYS_RESOURCE (a runtime
 * path changed by a reload is not used for new containers, so it has to be there from the start).
 */
export async function startCrioDaemon(options: DaemonOptions): Promise<ConformanceDaemon> {
  const { startCrio } = await import('../../e2e/harness/crio');
  const wrapperDir = path.join(options.workDir, 'crio-runc');
  mkdirSync(wrapperDir, { recursive: true });
  symlinkSync(path.join(__dirname, 'runc-restrict-oom.sh'), path.join(wrapperDir, 'runc'));
  const savedPath = process.env.PATH;
  process.env.PATH = `${wrapperDir}:${savedPath ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  let crio: Awaited<ReturnType<typeof startCrio>>;
  try {
    crio = await startCrio({ netnsPath: options.netnsPath, network: { ...options.network, portmap: true } });
  } finally {
    process.env.PATH = savedPath;
  }
  try {
    writeFileSync(path.join(crio.layout.registriesConfDir, '50-kata-ts-conformance.conf'), crioRegistriesDropIn(options.registryPort));
    writeFileSync(path.join(crio.layout.configDir, '50-kata-ts-conformance.conf'), `[crio.image]\npause_image = ${JSON.stringify(SANDBOX_IMAGE)}\n`);
    const logged = () => (existsSync(crio.layout.logFile) ? readFileSync(crio.layout.logFile, 'utf8').split('Applied new registry configuration').length - 1 : 0);
    const before = logged();
    process.kill(crio.pid, 'SIGHUP');
    if (!(await waitUntil(() => logged() > before, 30_000, 200))) throw new Error(`CRI-O did not reload its registries; log tail:\n${crio.logTail()}`);
  } catch (err) {
    await crio.stop();
    throw err;
  }
  return { label: crio.label, endpoint: crio.endpoint, kataHandler: crio.kataHandler, logFile: crio.layout.logFile, stop: () => crio.stop() };
}
