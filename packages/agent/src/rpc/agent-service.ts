import { existsSync, readFileSync } from 'node:fs';
import type { AgentService } from '@kata-ts/protocol/kata';
import type { CallContext, ServiceImplementation } from 'ttrpc-ts';
import type { AgentConfig } from '../config';
import { listProcesses } from '../container/process-list';
import { copyFile } from '../copy-file';
import { InvalidArgumentError } from '../errors';
import type { Metrics } from '../metrics';
import type { Network } from '../network/network';
import type { Sandbox } from '../sandbox/sandbox';
import { STORAGE_DRIVERS } from '../storage/handlers';
import { run } from '../system/exec';
import type { SystemOps } from '../system/system';
import { normalizeExecId, validateId } from '../validate';
import { AGENT_VERSION } from '../version';

export interface AgentServiceDeps {
  config: AgentConfig;
  sandbox: Sandbox;
  system: SystemOps;
  network: Network;
  metrics: Metrics;
  /** Runs after DestroySandbox answered: stop serving, then power off. */
  onDestroyed(): void;
}

/** Largest read a ReadStdout/ReadStderr answers with (the reply must fit a 4 MiB ttrpc frame). */
const MAX_READ = 1 << 20;

/** Decoded messages carry proto3 defaults; these keep the handlers honest about optional typing. */
const str = (v: string | null | undefined): string => v ?? '';
const num = (v: number | null | undefined): number => v ?? 0;

function checkSignal(sig: number): number {
  if (!Number.isInteger(sig) || sig < 1 || sig > 64) throw new InvalidArgumentError(`invalid signal ${sig}`);
  return sig;
}

function readLen(len: number): number {
  if (!len) throw new InvalidArgumentError('read length must be > 0');
  return Math.min(len, MAX_READ);
}

/**
 * grpc.AgentService. Thin handlers: validate, look up, call the domain. Errors become statuses in
 * rpc/boundary.ts. RPCs not implemented here answer UNIMPLEMENTED (ttrpc-ts does that).
 */
export function agentService(d: AgentServiceDeps): ServiceImplementation<typeof AgentService> {
  const { sandbox } = d;
  const proc = (containerId: string, execId: string) => sandbox.get(containerId).process(normalizeExecId(containerId, execId));
  return {
    async createSandbox(req) {
      await sandbox.create({
        sandboxId: str(req.sandboxId), hostname: str(req.hostname), dns: req.dns ?? [], storages: req.storages ?? [],
        sandboxPidns: !!req.sandboxPidns, kernelModules: req.kernelModules ?? [],
      });
      return {};
    },

    async destroySandbox() {
      await sandbox.destroy({ poweringOff: d.config.mode === 'guest' });
      d.onDestroyed();
      return {};
    },

    async createContainer(req) {
      if (!req.OCI) throw new InvalidArgumentError('CreateContainer without an OCI spec');
      await sandbox.createContainer({ id: str(req.containerId), spec: req.OCI, storages: req.storages ?? [], sandboxPidns: !!req.sandboxPidns });
      return {};
    },

    async startContainer(req) {
      await sandbox.get(str(req.containerId)).start();
      return {};
    },

    async removeContainer(req) {
      await sandbox.removeContainer(str(req.containerId), num(req.timeout));
      return {};
    },

    async execProcess(req) {
      const c = sandbox.get(str(req.containerId));
      if (!req.execId) throw new InvalidArgumentError('ExecProcess needs an exec id');
      validateId(req.execId, 'exec id');
      if (!req.process || !(req.process.Args ?? []).length) throw new InvalidArgumentError('ExecProcess without process args');
      await c.exec(req.execId, req.process);
      return {};
    },

    async signalProcess(req) {
      const c = sandbox.get(str(req.containerId));
      await c.signal(normalizeExecId(str(req.containerId), str(req.execId)), checkSignal(num(req.signal)));
      return {};
    },

    async waitProcess(req, ctx: CallContext) {
      const c = sandbox.get(str(req.containerId));
      return { status: await c.wait(normalizeExecId(str(req.containerId), str(req.execId)), ctx.signal) };
    },

    async writeStdin(req) {
      const p = proc(str(req.containerId), str(req.execId));
      const data = req.data ?? new Uint8Array(0);
      if (data.length === 0) {
        p.closeStdin();
        return { len: 0 };
      }
      return { len: await p.write(data) };
    },

    async readStdout(req, ctx: CallContext) {
      return { data: await proc(str(req.containerId), str(req.execId)).stdout.read(readLen(num(req.len)), ctx.signal) };
    },

    async readStderr(req, ctx: CallContext) {
      return { data: await proc(str(req.containerId), str(req.execId)).stderr.read(readLen(num(req.len)), ctx.signal) };
    },

    async closeStdin(req) {
      proc(str(req.containerId), str(req.execId)).closeStdin();
      return {};
    },

    async ttyWinResize(req) {
      const rows = num(req.row);
      const cols = num(req.column);
      if (rows > 0xffff || cols > 0xffff) throw new InvalidArgumentError('window size out of range');
      proc(str(req.containerId), str(req.execId)).resize(rows, cols);
      return {};
    },

    async statsContainer(req) {
      const c = sandbox.get(str(req.containerId));
      return { cgroupStats: await c.stats(), networkStats: await d.network.stats() };
    },

    async listProcesses(req) {
      const c = sandbox.get(str(req.containerId));
      return { processList: await listProcesses(await c.pids(), str(req.format), req.args ?? [], (args) => run('ps', args)) };
    },

    async pauseContainer(req) {
      await sandbox.get(str(req.containerId)).pause();
      return {};
    },

    async resumeContainer(req) {
      await sandbox.get(str(req.containerId)).resume();
      return {};
    },

    async updateContainer(req) {
      if (!req.resources) throw new InvalidArgumentError('UpdateContainer without resources');
      await sandbox.get(str(req.containerId)).update(req.resources);
      return {};
    },

    async getGuestDetails(req) {
      const blockSize = '/sys/devices/system/memory/block_size_bytes';
      return {
        memBlockSizeBytes: req.memBlockSize && existsSync(blockSize) ? parseInt(readFileSync(blockSize, 'utf8').trim(), 16) || 0 : 0,
        supportMemHotplugProbe: req.memHotplugProbe && existsSync('/sys/devices/system/memory/probe'),
        agentDetails: {
          version: AGENT_VERSION,
          initDaemon: process.pid === 1,
          deviceHandlers: [],
          storageHandlers: [...STORAGE_DRIVERS],
          supportsSeccomp: true,
          extraFeatures: [],
        },
      };
    },

    async setGuestDateTime(req) {
      const sec = num(req.Sec);
      const usec = num(req.Usec);
      if (sec < 0 || usec < 0 || usec >= 1e6) throw new InvalidArgumentError('invalid time');
      await d.system.setTime(sec, usec);
      return {};
    },

    async copyFile(req) {
      await copyFile({
        path: str(req.path), fileSize: num(req.fileSize), fileMode: num(req.fileMode), dirMode: num(req.dirMode),
        uid: req.uid ?? -1, gid: req.gid ?? -1, offset: num(req.offset), data: req.data ?? new Uint8Array(0),
      }, d.config.copyFileRoots, d.config.copyFileMaxBytes);
      return {};
    },

    async getOOMEvent(_req, ctx: CallContext) {
      return { containerId: await sandbox.oom.next(ctx.signal) };
    },

    async getMetrics() {
      return { metrics: await d.metrics.collect() };
    },

    async onlineCPUMem(req) {
      await d.system.onlineCpuMem(num(req.nbCpus), !!req.cpuOnly);
      return {};
    },

    async updateInterface(req) {
      if (!req.interface) throw new InvalidArgumentError('UpdateInterface without an interface');
      return d.network.updateInterface(req.interface);
    },

    async updateRoutes(req) {
      return { Routes: await d.network.updateRoutes(req.routes?.Routes ?? []) };
    },

    async listInterfaces() {
      return { Interfaces: await d.network.listInterfaces() };
    },

    async listRoutes() {
      return { Routes: await d.network.listRoutes() };
    },

    async addARPNeighbors(req) {
      await d.network.addArpNeighbors(req.neighbors?.ARPNeighbors ?? []);
      return {};
    },
  };
}
