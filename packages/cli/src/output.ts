import type { ProgressStream } from './progress';

/** Where commands print; tests pass a collector. */
export interface Output {
  write(text: string): void;
  error(text: string): void;
  /** Where long steps draw their progress (stderr); none: no progress shown. */
  progress?: ProgressStream;
}

export const stdio: Output = {
  write: (text) => void process.stdout.write(text),
  error: (text) => void process.stderr.write(text),
  progress: process.stderr,
};
