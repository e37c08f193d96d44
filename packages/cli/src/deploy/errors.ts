/** Why deploy/undeploy stopped before writing anything; the message names the file and the problem. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}

/** "permission denied" for EACCES and friends: what an fs error means, in words, for a message that names the file. */
export function fsProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run as root?)';
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return e.message ?? String(err);
  }
}
