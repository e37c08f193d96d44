/**
 * Kata's agent API as protobufjs JSON descriptors, for tools that build messages from JSON by name
 * (kata-ts agent-ctl). A separate entry point: the shim and the agent never load it.
 */
export { kataReflection } from './gen/kata-reflection';
