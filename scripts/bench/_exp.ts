import { readFileSync } from 'node:fs';
import { PrivateContainerd, ensureTestImage, run } from '../../e2e/harness';
async function main() {
  const ctd = await PrivateContainerd.start();
  try {
    const image = await ensureTestImage();
    await ctd.importImage(image.tarPath);
    const t0 = Date.now();
    const r = await run('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, 'run', '--rm', '--runtime', 'io.containerd.kata.v2', image.ref, 'exp1', ...JSON.parse(process.argv[2] ?? '["echo","hi"]')], { timeoutMs: 300_000 });
    console.log(r.code, r.stdout, r.stderr.slice(0, 2000), Date.now() - t0);
    const pat = new RegExp(process.argv[3] ?? 'pool|adopt');
    for (const line of readFileSync(ctd.layout.logFile, 'utf8').split('\n')) if (pat.test(line)) console.log(line.slice(0, 600));
  } finally { await ctd.stop(); }
}
void main();
