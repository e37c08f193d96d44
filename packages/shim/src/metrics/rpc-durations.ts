/**
 * This shim process's RPC timings, as Kata's shim reports them: the task API calls it serves
 * (kata_shim_rpc_durations_histogram_milliseconds) and the agent calls it makes
 * (kata_shim_agent_rpc_durations_histogram_milliseconds), by method name. Process-wide on purpose:
 * a shim serves one pod, and the ttrpc server and the agent client record here without being told
 * about the monitor endpoint that reads them.
 */
import { DurationHistogram } from '@kata-ts/protocol/metrics';

export const shimRpcDurations = new DurationHistogram(
  'kata_shim_rpc_durations_histogram_milliseconds', 'Task API calls the shim served, by method, in milliseconds', 'action');

export const agentRpcDurations = new DurationHistogram(
  'kata_shim_agent_rpc_durations_histogram_milliseconds', 'Agent calls the shim made, by method, in milliseconds', 'action');
