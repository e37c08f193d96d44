// Generates packages/protocol/src/gen from proto/: one module per API family so that a process loads
// only what it speaks (the guest agent never loads containerd's or the CRI's types).
import path from 'node:path';
import { generateModule, generateReflection, generateServiceDescriptors } from '../../../scripts/lib/gen-proto.mjs';

const packageDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(packageDir, 'src', 'gen');

const modules = [
  {
    name: 'containerd',
    files: [
      'containerd/runtime/task/v2/shim.proto',
      'containerd/types/mount.proto',
      'containerd/types/task/task.proto',
      'containerd/types/event.proto',
      'containerd/types/introspection.proto',
      'containerd/events/task.proto',
      'containerd/services/events/ttrpc/v1/events.proto',
      'containerd/cgroups/v1/metrics.proto',
      'containerd/cgroups/v2/metrics.proto',
      'containerd/runtimeoptions/v1/api.proto',
      'containerd/runtime/bootstrap/v1/bootstrap.proto',
      'containerd/runtime/sandbox/v1/sandbox.proto',
      'containerd/types/platform.proto',
      'containerd/types/metrics.proto',
      'containerd/types/sandbox.proto',
    ],
  },
  { name: 'kata', files: ['kata/agent.proto', 'kata/health.proto', 'kata/oci.proto', 'kata/types.proto', 'kata/csi.proto'], reflection: 'kataReflection' },
  { name: 'cri', files: ['cri/api.proto'] },
];

for (const m of modules) {
  generateModule({ packageDir, outDir, name: m.name, root: `kata_ts_${m.name}`, files: m.files });
  await generateServiceDescriptors({ outDir, name: m.name, files: m.files });
  if (m.reflection) await generateReflection({ outDir, name: m.name, files: m.files, exportName: m.reflection });
}
