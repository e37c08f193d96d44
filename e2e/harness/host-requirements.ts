/**
 * Gates for tests that need something of the host (root, real containerd, AF_VSOCK, QEMU...). Where
 * the host cannot run them they are skipped with the reason in the test or suite name; where they must
 * run (CI, or KATA_TS_REQUIRE_HOST_TESTS=1) a missing requirement fails instead of hiding it.
 * Packages' tests import this file directly (not the harness index, which pulls in containerd helpers).
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Programs a private containerd with the runc runtime needs on PATH. */
export const CONTAINERD_PROGRAMS = ['containerd', 'ctr', 'containerd-shim-runc-v2', 'runc'] as const;

/** The absolute path of an executable on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why this host cannot run containerd tests, or undefined when it can. */
export function containerdSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const missing = CONTAINERD_PROGRAMS.filter((p) => !which(p));
  if (missing.length > 0) return `needs ${missing.join(', ')} on PATH`;
  return undefined;
}

/** True where host tests must run rather than skip. */
export function hostTestsRequired(): boolean {
  return !!process.env.CI || process.env.KATA_TS_REQUIRE_HOST_TESTS === '1';
}

/** The error a required but missing prerequisite fails with. */
function missing(name: string, reason: string): Error {
  return new Error(`${name}: ${reason} (required here: CI or KATA_TS_REQUIRE_HOST_TESTS=1)`);
}

/**
 * `describe` for a suite that needs something of the host; `reason` says what is missing (undefined:
 * nothing is). Decided at collection time: the suite runs when nothing is missing, fails where host
 * tests are required, and is skipped elsewhere with the reason in its name (counted as skipped).
 */
export function describeNeeding(reason: string | undefined, name: string, fn: () => void): void {
  if (reason === undefined) {
    describe(name, fn);
  } else if (hostTestsRequired()) {
    describe(name, () => {
      it('has what it needs on this host', () => {
        throw missing(name, reason);
      });
    });
  } else {
    // A wholly skipped file prints no test names, so say why on stderr too.
    process.stderr.write(`skipping "${name}": ${reason}\n`);
    describe.skip(`${name} [skipped: ${reason}]`, fn);
  }
}

/** `it` with the same rule as describeNeeding, for one test of a suite that otherwise runs anywhere. */
export function itNeeding(reason: string | undefined, name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  if (reason === undefined) {
    it(name, fn, timeoutMs);
  } else if (hostTestsRequired()) {
    it(name, () => {
      throw missing(name, reason);
    });
  } else {
    it.skip(`${name} [skipped: ${reason}]`, fn, timeoutMs);
  }
}

/** Why this process cannot act as another user (tests that run a peer as nobody), or undefined. */
export function rootSkipReason(): string | undefined {
  return process.geteuid?.() === 0 ? undefined : 'needs root';
}

/**
 * `describe` for suites that start a private containerd: runs them as root with containerd installed,
 * skips them elsewhere with a clear reason, and fails them where host tests are required.
 */
export function describeIfRoot(name: string, fn: () => void): void {
  describeNeeding(containerdSkipReason(), name, fn);
}
