/**
 * The one table of per-RPC deadlines for agent calls, in milliseconds. 0 means no deadline: the
 * long polls (WaitProcess, ReadStdout, ReadStderr, GetOOMEvent) block until something happens, and
 * WriteStdin waits for the container to read (runtime-rs passes 0 for it too).
 */
export const AGENT_TIMEOUTS_MS = {
  check: 30_000,
  version: 30_000,
  createSandbox: 60_000,
  destroySandbox: 15_000,
  createContainer: 60_000, // replaced by [runtime] create_container_timeout
  startContainer: 60_000,
  removeContainer: 60_000,
  execProcess: 60_000,
  signalProcess: 60_000,
  waitProcess: 0,
  updateContainer: 60_000,
  statsContainer: 60_000,
  pauseContainer: 60_000,
  resumeContainer: 60_000,
  writeStdin: 0,
  readStdout: 0,
  readStderr: 0,
  closeStdin: 60_000,
  ttyWinResize: 60_000,
  getOOMEvent: 0,
  getGuestDetails: 60_000,
  updateInterface: 60_000,
  updateRoutes: 60_000,
  listInterfaces: 30_000,
  listRoutes: 30_000,
  setGuestDateTime: 10_000,
  onlineCpuMem: 30_000,
  getMetrics: 10_000, // a monitor scrape waits on it
} as const;

export type AgentRpc = keyof typeof AGENT_TIMEOUTS_MS;
