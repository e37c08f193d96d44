// Generates the ttrpc wire envelope (Request, Response, KeyValue, google.rpc.Status) into src/gen,
// and the test fixture service into test/gen.
import path from 'node:path';
import { generateModule } from '../../../scripts/lib/gen-proto.mjs';

const packageDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
generateModule({
  packageDir,
  outDir: path.join(packageDir, 'src', 'gen'),
  name: 'envelope',
  root: 'ttrpc_envelope',
  files: ['ttrpc/request.proto'],
});
generateModule({
  packageDir,
  protoRoot: path.join(packageDir, 'test', 'fixtures'),
  outDir: path.join(packageDir, 'test', 'gen'),
  name: 'echo',
  root: 'ttrpc_test',
  files: ['echo.proto'],
});
