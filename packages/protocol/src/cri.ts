/** The Kubernetes CRI (runtime.v1): what the e2e CRI client needs to drive containerd's CRI plugin. */
// Loaded first: ttrpc-ts configures protobufjs so 64-bit fields are plain numbers, and generated
// code fixes its field defaults when it loads.
import 'ttrpc-ts';
import * as pb from './gen/cri';

export { pb };
export const runtime = pb.runtime;
export { RuntimeService, ImageService } from './gen/cri-services';
