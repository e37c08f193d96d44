/**
 * containerd's shim-facing API: task v2 service, the 2.x sandbox service, events, mount and task
 * types, cgroup metrics, runtime options and the 2.3 bootstrap messages, plus the type URLs
 * containerd uses for them.
 */
// Loaded first: ttrpc-ts configures protobufjs so 64-bit fields are plain numbers, and generated
// code fixes its field defaults when it loads.
import 'ttrpc-ts';
import { protobufCodec } from 'ttrpc-ts';
import * as pb from './gen/containerd';

export { pb };
export const containerd = pb.containerd;
export const google = pb.google;
export const cgroupsV1 = pb.io.containerd.cgroups.v1;
export const cgroupsV2 = pb.io.containerd.cgroups.v2;
export const runtimeoptions = pb.runtimeoptions;
export { TaskService, EventsService, SandboxService } from './gen/containerd-services';
import { TaskService } from './gen/containerd-services';

/**
 * containerd.task.v3.Task (containerd 2.x, shim API version 3). Upstream's task/v3/shim.proto is
 * task/v2/shim.proto with only the package renamed: every message, field number and method is the same
 * (diffed against containerd/api v1.12.0), so v3 is the v2 descriptor served under the v3 name rather
 * than a second generated copy of ~40 identical messages.
 */
export const TaskServiceV3 = { ...TaskService, name: 'containerd.task.v3.Task' } as const;

const events = pb.containerd.events;

/** Task events in the order containerd defines them, each with its topic and type URL. */
export const TaskEvents = {
  TaskCreate: { topic: '/tasks/create', typeUrl: 'containerd.events.TaskCreate', codec: protobufCodec(events.TaskCreate) },
  TaskStart: { topic: '/tasks/start', typeUrl: 'containerd.events.TaskStart', codec: protobufCodec(events.TaskStart) },
  TaskDelete: { topic: '/tasks/delete', typeUrl: 'containerd.events.TaskDelete', codec: protobufCodec(events.TaskDelete) },
  TaskIO: { topic: '/tasks/io', typeUrl: 'containerd.events.TaskIO', codec: protobufCodec(events.TaskIO) },
  TaskExit: { topic: '/tasks/exit', typeUrl: 'containerd.events.TaskExit', codec: protobufCodec(events.TaskExit) },
  TaskOOM: { topic: '/tasks/oom', typeUrl: 'containerd.events.TaskOOM', codec: protobufCodec(events.TaskOOM) },
  TaskExecAdded: { topic: '/tasks/exec-added', typeUrl: 'containerd.events.TaskExecAdded', codec: protobufCodec(events.TaskExecAdded) },
  TaskExecStarted: { topic: '/tasks/exec-started', typeUrl: 'containerd.events.TaskExecStarted', codec: protobufCodec(events.TaskExecStarted) },
  TaskPaused: { topic: '/tasks/paused', typeUrl: 'containerd.events.TaskPaused', codec: protobufCodec(events.TaskPaused) },
  TaskResumed: { topic: '/tasks/resumed', typeUrl: 'containerd.events.TaskResumed', codec: protobufCodec(events.TaskResumed) },
  TaskCheckpointed: { topic: '/tasks/checkpointed', typeUrl: 'containerd.events.TaskCheckpointed', codec: protobufCodec(events.TaskCheckpointed) },
} as const;

/** Type URLs of other messages containerd exchanges inside Any. */
export const ContainerdTypeUrl = {
  CgroupsV1Metrics: 'io.containerd.cgroups.v1.Metrics',
  CgroupsV2Metrics: 'io.containerd.cgroups.v2.Metrics',
  RuntimeOptions: 'runtimeoptions.v1.Options',
  RuncOptions: 'containerd.runc.v1.Options',
} as const;

/** Codecs for the messages above. */
export const codecs = {
  cgroupsV1Metrics: protobufCodec(pb.io.containerd.cgroups.v1.Metrics),
  cgroupsV2Metrics: protobufCodec(pb.io.containerd.cgroups.v2.Metrics),
  runtimeOptions: protobufCodec(pb.runtimeoptions.v1.Options),
  any: protobufCodec(pb.google.protobuf.Any),
  bootstrapParams: protobufCodec(pb.containerd.runtime.bootstrap.v1.BootstrapParams),
  bootstrapResult: protobufCodec(pb.containerd.runtime.bootstrap.v1.BootstrapResult),
  deleteResponse: protobufCodec(pb.containerd.task.v2.DeleteResponse),
  runtimeInfo: protobufCodec(pb.containerd.types.RuntimeInfo),
  envelope: protobufCodec(pb.containerd.types.Envelope),
};
