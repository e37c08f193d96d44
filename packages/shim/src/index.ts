/**
 * @kata-ts/shim: containerd-shim-kata-v2 as a library, for the kata-ts CLI (check, env) and tests.
 */

/**** The binary ****/
export { runShim } from './framework/run-shim';
export { KataManager } from './manager';
export { VERSION, REVISION } from './version';

/**** Shim framework ****/
export { parseFlags } from './framework/flags';
export type { ShimFlags } from './framework/flags';
export { DEFAULT_SOCKET_DIR, socketAddress } from './framework/socket';
export type { ShimManager, ShimGroup, ShimService, CleanupResult, ServeContext } from './framework/manager';

/**** Configuration ****/
export { defaultConfig, parseConfig, configDocument, configToml, ASSET_DIR } from './config/config';
export type { ShimConfig, HypervisorConfig, AgentConfig, RuntimeConfig, FactoryConfig, Accel, SharedFs } from './config/config';
export { CONFIG_ENV, DEFAULT_CONFIG_PATHS, configCandidates, loadConfig, runtimeOptionsFrom } from './config/load';
export type { ConfigCandidate, RuntimeOptions } from './config/load';
export { applyAnnotations, HYPERVISOR_ANNOTATION_PREFIX } from './config/annotations';

/**** Hypervisor ****/
export { chooseAccel, bootProbe, kvmUsable, PROBE_TIMEOUT_MS } from './hypervisor/accel';
export type { AccelDecision } from './hypervisor/accel';
export { qemuArgs, AGENT_PORT_NAME, SHARE_MOUNT_TAG } from './hypervisor/qemu-args';
export type { Hypervisor, VmSpec, AgentChannel, ShareDevice } from './hypervisor/hypervisor';
export { buildVmSpec, chooseAgentChannel, shareDevice, vmSizing } from './runtime/vm-config';
export { QmpClient, QmpError } from './hypervisor/qmp';
export { saveVmState, restoreVmState } from './hypervisor/migration';
export { TemplateStore, templateKey } from './hypervisor/template-store';
export type { TemplateFiles } from './hypervisor/template-store';
export { prepareDefaultTemplate, templateIneligibility } from './runtime/vm-template';
export type { TemplateProgress } from './runtime/vm-template';

/**** Warm VM pool ([factory] vm_cache_number) ****/
export { VmPool } from './pool/vm-pool';
export { servePool } from './pool/pool-server';
export { poolStatus, claimPoolVm } from './pool/pool-client';
export type { PoolStatus, PooledVm } from './pool/pool-protocol';
export { createLogger, flushLogger, silentLogger } from './framework/logging';
export { processArgv } from './framework/pid-alive';

/**** Agent client ****/
export { KataAgentClient } from './agent/agent-client';
export { AGENT_CTL_SOCKET } from './agent-proxy/agent-ctl-socket';
export { DEBUG_CONSOLE_SOCKET } from './agent-proxy/debug-console-socket';
export type { AgentClient } from './agent/agent-client';
export type * from './agent/types';
