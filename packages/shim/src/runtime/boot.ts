/**
 * Boots a pod's VM in production: resolves the accelerator (auto → a cached KVM probe), sizes the
 * VM, picks the agent channel, and starts QEMU through Sandbox.create: as a clone of a VM template
 * when templating is on and the VM fits one (vm-template.ts), else with a cold boot. A template that
 * cannot be made or restored costs a warning and a cold boot, never the sandbox.
 */
import type { Duplex } from 'node:stream';
import { connectVsock } from 'node-vsock';
import type { Logger } from '../framework/logging';
import { chooseAccel } from '../hypervisor/accel';
import { QemuHypervisor } from '../hypervisor/qemu';
import { dnsFromSpec } from '../network/dns';
import { createNetns, netnsPathOf, removeNetns, wantsNewNetns } from '../network/netns';
import { PodNetwork } from '../network/pod-network';
import { probeVhostNet } from '../network/vhost-net';
import { requestedSizing } from '../oci/annotations';
import type { BootRequest, PodVm } from './pod-vm';
import { Sandbox } from './sandbox';
import { sandboxDir } from './sandbox-files';
import { buildVmSpec, chooseAgentChannel, vmSizing } from './vm-config';
import { cloneSpec, obtainTemplate, templateIneligibility } from './vm-template';
import { TemplateStore, type TemplateFiles } from '../hypervisor/template-store';
import type { NicSpec, VmSpec } from '../hypervisor/hypervisor';
import { messageOf } from '../errors';
import path from 'node:path';
import { adoptPoolVm } from '../pool/adopt';
import { POOL_MISS_ENV, takeClaimedVm } from '../pool/pool-client';

/** Dials the agent's vsock port until it accepts or the time is up. */
async function dialVsock(cid: number, port: number, timeoutMs: number): Promise<Duplex> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectVsock({ cid, port, timeout: Math.max(100, Math.min(2_000, deadline - Date.now())) });
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function bootQemuSandbox(req: BootRequest, log: Logger): Promise<PodVm> {
  const { config } = req;
  const h = config.hypervisor;
  const dir = sandboxDir(config.runtime.stateDir, req.sandboxId);
  const accel = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir });
  const sizing = vmSizing(config, requestedSizing(req.spec, req.kind));
  log.info({ accel: accel.accel, reason: accel.reason, ...sizing }, 'VM settings');
  const agentChannel = chooseAgentChannel(path.join(dir, 'vm'));
  const useVirtiofs = h.sharedFs === 'virtio-fs' && !!h.virtioFsDaemon;
  const specFor = (sharedDir: string): VmSpec =>
    buildVmSpec({ config, sandboxId: req.sandboxId, sandboxDir: dir, sharedDir, accel: accel.accel, sizing, agentChannel });

  // A spec asking for a new netns gets one when its hooks can fill it (as runc would create it).
  const ownNetns = !netnsPathOf(req.spec) && req.createHooks && wantsNewNetns(req.spec) ? path.join(dir, 'netns') : undefined;
  const netnsPath = netnsPathOf(req.spec) ?? ownNetns;
  const wireNetwork = async (netnsPath: string) => {
    const probe = await probeVhostNet();
    log.info({ subsystem: 'network', vhostNet: probe.vhost, reason: probe.reason }, probe.vhost ? 'NICs use vhost-net' : 'NICs without vhost-net (virtio-net in QEMU userspace)');
    return PodNetwork.setup({ netnsPath, dir, vhost: probe.vhost, log: log.child({ subsystem: 'network' }), ownsNetns: netnsPath === ownNetns });
  };
  const setupNetwork = netnsPath || req.createHooks
    ? async () => {
        if (ownNetns) await createNetns(ownNetns);
        try {
          await req.createHooks?.(netnsPath);
          return netnsPath ? await wireNetwork(netnsPath) : undefined;
        } catch (err) {
          if (ownNetns) await removeNetns(ownNetns).catch(() => undefined);
          throw err;
        }
      }
    : undefined;
  const dns = req.dns ?? (await dnsFromSpec(req.spec));

  const pooled = takeClaimedVm(req.sandboxId);
  const missed = process.env[POOL_MISS_ENV];
  delete process.env[POOL_MISS_ENV];
  if (missed) log.info({ reason: missed }, 'no warm pool VM');
  if (pooled) {
    const init = { id: req.sandboxId, dns, setupNetwork, dir, config, hostname: req.spec.hostname ?? '', log };
    try {
      return await adoptPoolVm({ pooled, specFor, init, log });
    } catch (err) {
      log.warn({ err: messageOf(err), vm: pooled.name }, 'adopting the warm pool VM failed: starting from the template');
    }
  }

  const template = await templateFor(req, specFor(path.join(dir, 'shared')), sizing, log);
  // Set once the pod's NICs are known: whether this sandbox really started from the template.
  let clonedWithNics = false;
  const chooseSpec = (from: TemplateFiles | undefined, sharedDir: string, nics: readonly NicSpec[]): VmSpec => {
    const base = specFor(sharedDir);
    if (!from) return base;
    const why = templateIneligibility(config, { ...base, nics: [...nics] }, sizing);
    if (why) {
      log.info({ reason: why }, 'cold boot (no VM template)');
      return base;
    }
    clonedWithNics = nics.length > 0;
    return cloneSpec(base, from);
  };
  const create = (from: TemplateFiles | undefined): Promise<PodVm> => Sandbox.create({
    id: req.sandboxId,
    dns,
    setupNetwork,
    dir,
    config,
    hostname: req.spec.hostname ?? '',
    log,
    vmSpec: (share, nics) => chooseSpec(from, share.sharedDir, nics),
    createHypervisor: (spec) =>
      new QemuHypervisor(spec, {
        binary: h.path,
        log,
        debug: h.enableDebug || config.runtime.enableDebug,
        virtiofsd: useVirtiofs ? { binary: h.virtioFsDaemon, sharedDir: path.join(dir, 'shared'), cache: h.virtioFsCache, extraArgs: h.virtioFsExtraArgs } : undefined,
        dialVsock,
        restoreState: from?.state,
      }),
  });
  if (!template) return create(undefined);
  try {
    return await create(template);
  } catch (err) {
    // A failed NIC hot-plug says nothing about the template; a failed restore without NICs does.
    log.warn({ err: messageOf(err), template: template.key, withNics: clonedWithNics }, 'starting from the VM template failed: booting cold');
    if (!clonedWithNics) await new TemplateStore(config.factory.templatePath, log).discard(template.key).catch(() => undefined);
    return create(undefined);
  }
}

/** The template to clone, or undefined (with the reason logged) for a cold boot. */
async function templateFor(req: BootRequest, spec: VmSpec, sizing: { vcpus: number; memoryMiB: number }, log: Logger): Promise<TemplateFiles | undefined> {
  const why = templateIneligibility(req.config, spec, sizing);
  if (why) {
    log.info({ reason: why }, 'cold boot (no VM template)');
    return undefined;
  }
  try {
    return await obtainTemplate({ config: req.config, spec, log });
  } catch (err) {
    log.warn({ err: messageOf(err) }, 'no VM template: cold boot');
    return undefined;
  }
}
