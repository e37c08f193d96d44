/** Kata Containers' agent API (grpc.AgentService, grpc.Health) with its OCI and network types. */
// Loaded first: ttrpc-ts configures protobufjs so 64-bit fields are plain numbers, and generated
// code fixes its field defaults when it loads.
import 'ttrpc-ts';
import * as pb from './gen/kata';

export { pb };
/** Messages of agent.proto, oci.proto, health.proto and csi.proto (proto package "grpc"). */
export const agent = pb.grpc;
/** Messages of types.proto (proto package "types"). */
export const types = pb.types;
export { AgentService, HealthService } from './gen/kata-services';
