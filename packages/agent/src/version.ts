/** Version of this agent (reported by Health.Version and GetGuestDetails). */
export const AGENT_VERSION = '0.1.0-kata-ts';
/** Version of the agent API it speaks (Kata's agent.proto). */
export const API_VERSION = '0.0.1';
