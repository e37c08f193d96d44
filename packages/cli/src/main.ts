/** The kata-ts binary. */
import { hideBin } from 'yargs/helpers';
import { run } from './cli';

run(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kata-ts: ${(err as Error).message}\n`);
    process.exitCode = 2;
  },
);
