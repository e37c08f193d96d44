import type { HealthService } from '@kata-ts/protocol/kata';
import type { ServiceImplementation } from 'ttrpc-ts';
import { AGENT_VERSION, API_VERSION } from '../version';

/** grpc.Health: the agent always answers SERVING (as Kata's does). */
export function healthService(): ServiceImplementation<typeof HealthService> {
  return {
    check: () => ({ status: 1 }),
    version: () => ({ grpcVersion: API_VERSION, agentVersion: AGENT_VERSION }),
  };
}
