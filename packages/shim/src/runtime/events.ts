/** Builds the task events containerd expects, with its timestamp encoding. */
import { TaskEvents } from '@kata-ts/protocol/containerd';
import { taskEvent, type Publisher } from '../framework/publisher';
import type { MountSpec } from '../fs/mount';
import type { StdioPaths } from '../io/host-io';

/** A protobuf Timestamp. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Go's zero time.Time as a Timestamp (what runc reports as exited_at while a process runs). */
export const ZERO_TIMESTAMP: Timestamp = { seconds: -62135596800, nanos: 0 };

export function toTimestamp(date: Date | undefined): Timestamp {
  if (!date) return ZERO_TIMESTAMP;
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** One method per task event, queued in call order. */
export class TaskEventSink {
  constructor(private readonly publisher: Publisher) {}

  create(containerId: string, bundle: string, rootfs: readonly MountSpec[], io: StdioPaths, pid: number): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskCreate, {
      containerId, bundle, pid,
      rootfs: rootfs.map((m) => ({ type: m.type, source: m.source, options: m.options })),
      io: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal },
    }));
  }

  start(containerId: string, pid: number): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskStart, { containerId, pid }));
  }

  execAdded(containerId: string, execId: string): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskExecAdded, { containerId, execId }));
  }

  execStarted(containerId: string, execId: string, pid: number): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskExecStarted, { containerId, execId, pid }));
  }

  /** `id` is the process id: the container id for init, the exec id for an exec. */
  exit(containerId: string, id: string, pid: number, exitStatus: number, exitedAt: Date): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskExit, { containerId, id, pid, exitStatus, exitedAt: toTimestamp(exitedAt) }));
  }

  delete(containerId: string, pid: number, exitStatus: number, exitedAt: Date | undefined): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskDelete, { containerId, pid, exitStatus, exitedAt: toTimestamp(exitedAt) }));
  }

  oom(containerId: string): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskOOM, { containerId }));
  }

  paused(containerId: string): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskPaused, { containerId }));
  }

  resumed(containerId: string): void {
    this.publisher.publish(taskEvent(TaskEvents.TaskResumed, { containerId }));
  }
}
