/** @kata-ts/agent: the guest agent, importable for tests and tools. The binary is main.ts. */
export { Agent } from './agent';
export { loadConfig, parseCmdline, parseListen } from './config';
export type { AgentConfig, ListenAddress } from './config';
export { createLogger } from './logging';
export { AGENT_VERSION } from './version';
