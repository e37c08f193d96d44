/**
 * Gates for tests that need root and real containerd. Where the host cannot run them they are skipped
 * with the reason in the suite name; where they must run (CI, or KATA_TS_REQUIRE_HOST_TESTS=1) a
 * missing requirement fails the suite instead of hiding it.
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

/**
 * `describe` for suites that start a private containerd: runs them as root with containerd installed,
 * skips them elsewhere with a clear reason, and fails them where host tests are required.
 */
export function describeIfRoot(name: string, fn: () => void): void {
  const reason = containerdSkipReason();
  if (reason === undefined) {
    describe(name, fn);
  } else if (hostTestsRequired()) {
    describe(name, () => {
      it('has what it needs on this host', () => {
        throw new Error(`${name}: ${reason} (required here: CI or KATA_TS_REQUIRE_HOST_TESTS=1)`);
      });
    });
  } else {
    // A wholly skipped file prints no test names, so say why on stderr too.
    process.stderr.write(`skipping "${name}": ${reason}\n`);
    describe.skip(`${name} [skipped: ${reason}]`, fn);
  }
}
