/** Which containerd is installed: it decides the schema of a config.toml that deploy has to create. */
import { execFile } from 'node:child_process';

export interface ContainerdVersion {
  major: number;
  minor: number;
  /** As given or printed, e.g. "1.6.20~ds1" or "v2.1.4". */
  text: string;
}

/**
 * The version in `containerd --version` output or a `--containerd-version` value:
 * "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1", "containerd containerd.io 1.7.27 05044ec",
 * "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7", or just "2.1" / "v1.7".
 */
export function parseContainerdVersion(text: string): ContainerdVersion | undefined {
  const m = /(?:^|\s)v?(\d+)\.(\d+)(?:\.\d+)?\S*/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: m[0].trim() };
}

/** Runs `containerd --version`; undefined when containerd is not installed or says nothing we can read. */
export function installedContainerdVersion(binary = 'containerd'): Promise<ContainerdVersion | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 5000 }, (err, stdout) => resolve(err ? undefined : parseContainerdVersion(stdout)));
  });
}
