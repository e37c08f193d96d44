/** Where commands print; tests pass a collector. */
export interface Output {
  write(text: string): void;
  error(text: string): void;
}

export const stdio: Output = {
  write: (text) => void process.stdout.write(text),
  error: (text) => void process.stderr.write(text),
};
