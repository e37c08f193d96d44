/** `kata-ts version`: this command's version and the git revision it was built from. */
import { REVISION, VERSION } from '@kata-ts/shim';
import type { Output } from '../output';

export function versionCommand(args: { json: boolean }, out: Output): number {
  const info = { version: VERSION, revision: REVISION, node: process.version };
  out.write(args.json ? `${JSON.stringify(info)}\n` : `kata-ts ${VERSION} (revision ${REVISION}, node ${process.version})\n`);
  return 0;
}
