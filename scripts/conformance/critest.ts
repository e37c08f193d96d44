/**
 * One critest (cri-tools' CRI validation suite, built by scripts/install-peers.sh) run against one
 * daemon and one runtime handler, inside the run's netns: critest fetches from pod IPs, host ports
 * and the daemon's streaming server, all of which live there. Its raw results are ginkgo's JSON and
 * JUnit reports plus its console log (critest v1.37.0 accepts --report-dir but writes nothing there).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { peerProgram } from '../../e2e/harness';

export interface CritestOptions {
  /** File stem for the reports, e.g. "containerd-kata". */
  name: string;
  endpoint: string;
  /** RuntimeClass handler; undefined: the daemon's default (runc). */
  handler?: string;
  netnsPath: string;
  outDir: string;
  /** ginkgo focus / skip regular expressions. */
  focus?: string;
  skip?: string;
  /** critest's --parallel (it needs the ginkgo CLI on PATH above 1). Default 1. */
  parallel?: number;
  /** critest's deadline for each runtime service call. Default 120 s. */
  callTimeout?: string;
  /** ginkgo's suite timeout. Default 3 h. */
  suiteTimeout?: string;
  /** Aborting SIGTERMs critest (ginkgo then interrupts the running spec and still writes its reports). */
  signal?: AbortSignal;
}

export interface CritestResult {
  jsonReport: string;
  junitReport: string;
  logFile: string;
  /** critest's exit code (non-zero as soon as one spec fails). */
  code: number | null;
  seconds: number;
}

/** The critest binary, or undefined when cri-tools was not built. */
export function critestPath(): string | undefined {
  return peerProgram('cri-tools', 'critest');
}

/** Runs critest to completion; resolves whatever its exit code. */
export function runCritest(o: CritestOptions): Promise<CritestResult> {
  const critest = critestPath();
  if (!critest) return Promise.reject(new Error('critest was not built (scripts/install-peers.sh cri-tools)'));
  const file = (ext: string) => path.join(o.outDir, `${o.name}.${ext}`);
  const result = { jsonReport: file('json'), junitReport: file('junit.xml'), logFile: file('log') };
  const args = [
    `--net=${o.netnsPath}`, '--', critest,
    `--runtime-endpoint=${o.endpoint}`, `--image-endpoint=${o.endpoint}`,
    ...(o.handler ? [`--runtime-handler=${o.handler}`] : []),
    // Per CRI call (critest's default is 300 s): ample for a pod boot under TCG, and a call the runtime
    // never answers costs 2 minutes instead of 5.
    `--runtime-service-timeout=${o.callTimeout ?? '120s'}`,
    // Only above 1: ginkgo refuses `--parallel` as go test's own flag otherwise.
    ...((o.parallel ?? 1) > 1 ? [`--parallel=${o.parallel}`] : []),
    '--ginkgo.no-color',
    `--ginkgo.timeout=${o.suiteTimeout ?? '3h'}`,
    '--ginkgo.poll-progress-after=180s', '--ginkgo.poll-progress-interval=60s',
    `--ginkgo.json-report=${result.jsonReport}`, `--ginkgo.junit-report=${result.junitReport}`,
    ...(o.focus ? [`--ginkgo.focus=${o.focus}`] : []),
    ...(o.skip ? [`--ginkgo.skip=${o.skip}`] : []),
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const log = openSync(result.logFile, 'w');
    const child = spawn('nsenter', args, { stdio: ['ignore', log, log], cwd: o.outDir });
    closeSync(log);
    const abort = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', reject);
    child.once('close', (code) => {
      o.signal?.removeEventListener('abort', abort);
      resolve({ ...result, code, seconds: (Date.now() - started) / 1000 });
    });
  });
}
