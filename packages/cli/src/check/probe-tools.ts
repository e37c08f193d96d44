/** Small host look-ups for `kata-ts check`: a program's output, PATH search, the image manifest. */
import { execFile } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImageVersions } from './facts';

/** Runs `file args` and resolves with its non-empty output lines, or rejects with why not. */
export function outputLines(file: string, args: string[], timeoutMs = 5_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 }, (err, stdout) => {
      const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      if (err) reject(new Error(err.code === 'ENOENT' ? 'not found' : err.message.split('\n')[0]));
      else if (!lines.length) reject(new Error('printed nothing'));
      else resolve(lines);
    });
  });
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, as containerd would find the shim. */
export async function which(name: string, pathEnv = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of pathEnv.split(':').filter(Boolean)) {
    const file = path.join(dir, name);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Versions from images/out/manifest.json as installed next to the kernel (schema 1). */
export function manifestVersions(manifest: unknown): ImageVersions {
  const m = obj(manifest);
  const rootfs = obj(m.rootfs);
  const v: ImageVersions = {
    format: str(obj(m.default).format),
    kernel: str(obj(m.kernel).version),
    node: str(obj(rootfs.node).version),
    crun: str(obj(m.packages).crun),
    agent: str(obj(rootfs.agent).sha256),
  };
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as ImageVersions;
}
