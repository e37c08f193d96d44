/**
 * The frame most kata suites through ctr share: a private containerd with the test image (KataCtr),
 * a temporary directory for the suite's configurations and templates, sandbox ids made per test, and
 * after each test the check that none of those sandboxes left anything on the host. A suite adds its
 * own hooks after calling it (they run after these).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PrivateContainerd } from './containerd';
import { KataCtr, installedConfigWith, sandboxFootprint, settledLeftovers } from './kata-ctr';
import { NO_LEFTOVERS } from './leftovers';

export interface KataSuite {
  readonly ctd: PrivateContainerd;
  readonly kata: KataCtr;
  readonly tmpDir: string;
  /** The ids made in the current test (checked for leftovers after it). */
  readonly ids: string[];
  /** A sandbox id unique to this run, remembered for the leftover check. */
  newId(what: string): string;
  /** Writes the installed configuration with `values` changed into the suite's directory; returns its path. */
  config(name: string, values: Record<string, string | number | boolean>): string;
}

export function kataCtrSuite(prefix: string, leftoverSettleMs = 20_000): KataSuite {
  let ctd: PrivateContainerd | undefined;
  let kata: KataCtr | undefined;
  let tmpDir = '';
  let ids: string[] = [];
  let n = 0;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not up: the suite's beforeAll failed`);
    return value;
  };
  const suite: KataSuite = {
    get ctd() {
      return need(ctd, 'containerd');
    },
    get kata() {
      return need(kata, 'KataCtr');
    },
    get tmpDir() {
      return tmpDir;
    },
    get ids() {
      return ids;
    },
    newId(what) {
      const id = `${prefix}-${what}-${process.pid}-${n++}`;
      ids.push(id);
      return id;
    },
    config(name, values) {
      const file = path.join(tmpDir, `${name}.toml`);
      writeFileSync(file, installedConfigWith(values));
      return file;
    },
  };

  beforeAll(async () => {
    tmpDir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-e2e-`));
    ({ ctd, kata } = await KataCtr.start());
  }, 180_000);

  afterAll(async () => {
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  beforeEach(() => {
    ids = [];
  });

  afterEach(async () => {
    if (ctd) expect(await settledLeftovers(sandboxFootprint(ctd, ids), leftoverSettleMs)).toEqual(NO_LEFTOVERS);
  }, 60_000);

  return suite;
}
