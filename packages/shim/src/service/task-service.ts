/**
 * containerd.task.v2.Task: thin handlers that turn requests into domain calls on TaskRuntime and
 * results back into responses. Errors are mapped to statuses in exactly one place, the server's
 * boundary (rpc-errors.ts).
 */
import type { ServiceImplementation } from 'ttrpc-ts';
import { OciTypeUrl, unpackJsonAny } from '@kata-ts/protocol';
import type { TaskService, pb } from '@kata-ts/protocol/containerd';
import { InvalidArgumentError, UnimplementedError } from '../errors';
import { metricsAny } from '../metrics/stats';
import type { OciLinuxResources, OciProcess } from '../oci/spec';
import { toTimestamp } from '../runtime/events';
import { validateId } from './ids';
import type { ProcessStatus } from '../runtime/process-state';
import type { TaskRuntime } from '../runtime/task-runtime';

type Impl = ServiceImplementation<typeof TaskService>;
type Status = pb.containerd.v1.types.Status;

const STATUS: Record<ProcessStatus, Status> = { created: 1, running: 2, stopped: 3, paused: 4, deleted: 3 };

/** A container or exec id, checked (it becomes a path component on the host). */
const requireId = (id: string | null | undefined, what = 'id'): string => validateId(id, what);

function requireValue(value: string | null | undefined, what: string): string {
  if (!value) throw new InvalidArgumentError(`${what} must not be empty`);
  return value;
}

export function createTaskService(runtime: TaskRuntime): Impl {
  const impl: Impl = {
    async create(req) {
      const pid = await runtime.create({
        id: requireId(req.id),
        bundle: requireValue(req.bundle, 'bundle'),
        rootfs: (req.rootfs ?? []).map((m) => ({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [], target: m.target ?? '' })),
        stdio: { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal },
        options: req.options,
      });
      return { pid };
    },

    async start(req) {
      return { pid: await runtime.start(requireId(req.id), req.execId ?? '') };
    },

    async delete(req) {
      const r = await runtime.delete(requireId(req.id), req.execId ?? '');
      return { pid: r.pid, exitStatus: r.exitStatus, exitedAt: toTimestamp(r.exitedAt) };
    },

    async pids(req) {
      return { processes: runtime.pids(requireId(req.id)).map((pid) => ({ pid })) };
    },

    async pause(req) {
      await runtime.pause(requireId(req.id));
      return {};
    },

    async resume(req) {
      await runtime.resume(requireId(req.id));
      return {};
    },

    async checkpoint() {
      throw new UnimplementedError('checkpoint is not supported by kata-ts');
    },

    async kill(req) {
      await runtime.kill(requireId(req.id), req.execId ?? '', req.signal ?? 0, !!req.all);
      return {};
    },

    async exec(req) {
      const spec = unpackJsonAny<OciProcess>(req.spec, OciTypeUrl.Process);
      runtime.exec(requireId(req.id), requireId(req.execId, 'exec id'), spec, {
        stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal,
      });
      return {};
    },

    async resizePty(req) {
      await runtime.resizePty(requireId(req.id), req.execId ?? '', req.width ?? 0, req.height ?? 0);
      return {};
    },

    async closeIO(req) {
      await runtime.closeIO(requireId(req.id), req.execId ?? '', !!req.stdin);
      return {};
    },

    async update(req) {
      const resources = unpackJsonAny<OciLinuxResources>(req.resources, OciTypeUrl.LinuxResources);
      await runtime.update(requireId(req.id), resources);
      return {};
    },

    async wait(req) {
      const exit = await runtime.wait(requireId(req.id), req.execId ?? '');
      return { exitStatus: exit.status, exitedAt: toTimestamp(exit.exitedAt) };
    },

    async state(req) {
      const s = runtime.state(requireId(req.id), req.execId ?? '');
      return {
        id: s.id,
        bundle: s.bundle,
        pid: s.pid,
        status: STATUS[s.status],
        stdin: s.stdio.stdin,
        stdout: s.stdio.stdout,
        stderr: s.stdio.stderr,
        terminal: s.stdio.terminal,
        exitStatus: s.exit?.status ?? 0,
        exitedAt: toTimestamp(s.exit?.exitedAt),
        execId: s.execId,
      };
    },

    async stats(req) {
      return { stats: metricsAny(await runtime.stats(requireId(req.id))) };
    },

    async connect() {
      const c = runtime.connect();
      return { shimPid: c.shimPid, taskPid: c.taskPid, version: '' };
    },

    async shutdown() {
      await runtime.shutdown();
      return {};
    },
  };
  return impl;
}
