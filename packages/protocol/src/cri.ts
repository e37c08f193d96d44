/**
 * The Kubernetes CRI (runtime.v1): what the e2e CRI client needs to drive containerd's CRI plugin,
 * and the PodSandboxConfig that containerd's shim sandbox controller hands a shim in CreateSandbox.
 */
// Loaded first: ttrpc-ts configures protobufjs so 64-bit fields are plain numbers, and generated
// code fixes its field defaults when it loads.
import 'ttrpc-ts';
import { protobufCodec } from 'ttrpc-ts';
import * as pb from './gen/cri';

export { pb };
export const runtime = pb.runtime;
export { RuntimeService, ImageService } from './gen/cri-services';

/** Type URLs of CRI messages that travel inside Any (containerd marshals them by full proto name). */
export const CriTypeUrl = {
  PodSandboxConfig: 'runtime.v1.PodSandboxConfig',
} as const;

/** Codecs for the messages above. */
export const criCodecs = {
  podSandboxConfig: protobufCodec(pb.runtime.v1.PodSandboxConfig),
};
