/** The Kubernetes CRI (runtime.v1): what the e2e CRI client needs to drive containerd's CRI plugin. */
import * as pb from './gen/cri';

export { pb };
export const runtime = pb.runtime;
export { RuntimeService, ImageService } from './gen/cri-services';
