/**
 * What `kata-ts deploy|undeploy containerd` does to config.toml, as a pure function of its text: the
 * new text and what to tell the user. The handler's tables are spliced in or out of the text so that
 * comments and layout survive; the result is re-parsed and must equal the old document with only our
 * tables added, replaced or removed. If the splice cannot prove that (the handler written as dotted
 * keys or an inline table), the whole document is re-serialised instead and `rewritten` says that the
 * comments are gone (the caller keeps a backup). Nothing here touches the file system.
 */
import { TomlError, stringify } from 'smol-toml';
import {
  DEFAULT_HANDLER, KATA_RUNTIME_TYPE, criDisabled, defaultRuncTable, handlerPath, handlerTable, runtimesPath, schemaForContainerd, schemaOf,
  type ContainerdSchema, type HandlerSettings,
} from './containerd-schema';
import type { ContainerdVersion } from './containerd-version';
import { DeployError } from './errors';
import { MARKER_PREFIX, appendBlock, spliceTables } from './table-splice';
import { renderTable, tomlKeyPath } from './toml-render';
import { getPath, isTable, parseToml, sameValue, withPath, withoutPath, type TomlDoc } from './toml-tree';

export type ContainerdChange = 'create' | 'add' | 'replace' | 'remove' | 'none';

export interface ContainerdPlan {
  change: ContainerdChange;
  /** The file's schema version (undefined when there is no file to undeploy from). */
  schema?: ContainerdSchema;
  /** The handler's table, e.g. plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata. */
  table?: string;
  /** The file's content after the change (the current content when nothing changes). */
  text: string;
  /** The whole file was re-serialised: its comments and layout are gone (the backup keeps them). */
  rewritten: boolean;
  /** Facts worth a line: the schema chosen and why, the handler that was replaced, runc spelled out. */
  notes: string[];
  /** Things that will keep pods from running even after a restart. */
  warnings: string[];
}

export interface ContainerdDeployInput {
  file: string;
  /** The file's content; undefined when it does not exist. */
  text: string | undefined;
  settings: HandlerSettings;
  /** The installed containerd, when known: it picks the schema of a new file. */
  containerd?: ContainerdVersion;
}

export interface ContainerdUndeployInput {
  file: string;
  text: string | undefined;
  handler: string;
}

/** One table the edit sets (value) or removes (undefined). */
interface TableChange {
  path: readonly string[];
  value: unknown;
}

const RUNC_MARKER = `${MARKER_PREFIX}containerd's built-in runtime "${DEFAULT_HANDLER}", spelled out: a file that lists runtimes replaces the built-in ones\n`;

function parseConfig(file: string, text: string): TomlDoc {
  try {
    return parseToml(text);
  } catch (err) {
    const e = err as TomlError;
    const where = err instanceof TomlError ? ` (line ${e.line}, column ${e.column})` : '';
    const what = (e.message ?? String(err)).split('\n')[0]?.replace(/^Invalid TOML document: /, '');
    throw new DeployError(`${file} is not valid TOML${where}: ${what}; nothing was changed`);
  }
}

function schemaOrThrow(file: string, doc: TomlDoc, containerd: ContainerdVersion | undefined): ContainerdSchema {
  const schema = schemaOf(doc);
  if (typeof schema === 'object') throw new DeployError(`${file}: ${schema.problem}; nothing was changed`);
  if (schema === 1 && containerd && containerd.major >= 2) {
    throw new DeployError(`${file} has no \`version\` key, so it is a version 1 config, which containerd ${containerd.text} no longer reads `
      + '(containerd 2.0 removed version 1): convert it to version 2 or 3 (full plugin ids, e.g. plugins."io.containerd.cri.v1.runtime") '
      + 'and run deploy again; nothing was changed');
  }
  return schema;
}

/** Whether the file lists no runtime handler, so containerd uses its built-in `runc` (which ours would displace). */
function usesBuiltinRuntimes(doc: TomlDoc, schema: ContainerdSchema): boolean {
  const runtimes = getPath(doc, runtimesPath(schema));
  return !isTable(runtimes) || Object.keys(runtimes).length === 0;
}

/** The tables deploy writes, and the block of text that holds them (each after its marker line). */
function deployTables(schema: ContainerdSchema, settings: HandlerSettings, withRunc: boolean): { changes: TableChange[]; block: string } {
  const kata = { path: handlerPath(schema, settings.handler), value: handlerTable(schema, settings) };
  const runc = { path: handlerPath(schema, DEFAULT_HANDLER), value: defaultRuncTable(schema) };
  const kataBlock = `${MARKER_PREFIX}runtime handler "${settings.handler}" for Kata Containers (kata-ts); \`kata-ts undeploy containerd\` removes it\n`
    + renderTable(kata.path, kata.value);
  return withRunc
    ? { changes: [runc, kata], block: `${RUNC_MARKER}${renderTable(runc.path, runc.value)}${kataBlock}` }
    : { changes: [kata], block: kataBlock };
}

/** Whether `text` parses to `before` with exactly `changes` applied. */
function provenEdit(text: string, before: TomlDoc, changes: readonly TableChange[]): boolean {
  let after: TomlDoc;
  try {
    after = parseToml(text);
  } catch {
    return false;
  }
  const rest = (doc: TomlDoc) => changes.reduce((d, c) => withoutPath(d, c.path), doc);
  return changes.every((c) => sameValue(getPath(after, c.path), c.value)) && sameValue(rest(after), rest(before));
}

/** The spliced text when it proves right, else the re-serialised document (which must prove right too). */
function edit(file: string, text: string, doc: TomlDoc, changes: readonly TableChange[], block: string | undefined) {
  const paths = changes.map((c) => c.path);
  const spliced = spliceTables(text, paths, block) ?? (block !== undefined ? appendBlock(text, block) : undefined);
  if (spliced !== undefined && provenEdit(spliced, doc, changes)) return { text: spliced, rewritten: false };
  const expected = changes.reduce((d, c) => (c.value === undefined ? withoutPath(d, c.path) : withPath(d, c.path, c.value)), doc);
  // numbersAsFloat: integers are BigInt here, so every JS number was a TOML float and stays one.
  const whole = stringify(expected, { numbersAsFloat: true });
  if (provenEdit(whole, doc, changes)) return { text: whole, rewritten: true };
  throw new DeployError(`${file}: kata-ts could not edit the runtime handler without changing other settings; nothing was changed`);
}

function schemaChoice(containerd: ContainerdVersion | undefined, schema: ContainerdSchema): string {
  return containerd
    ? `containerd ${containerd.text} is installed: config version ${schema}`
    : `containerd's version is unknown (no containerd on PATH; --containerd-version names it): config version ${schema}, `
      + 'which containerd 1.6/1.7 read and containerd 2.x migrates at startup';
}

const RUNC_NOTE = `also wrote containerd's built-in runtime "${DEFAULT_HANDLER}" (the file listed no runtimes, and listing one replaces the built-in ones)`;

/** deploy: the file with our handler added or replaced (or created), or unchanged when it is already there. */
export function planContainerdDeploy(input: ContainerdDeployInput): ContainerdPlan {
  const { file, settings, containerd } = input;
  const doc = input.text === undefined ? undefined : parseConfig(file, input.text);
  if (input.text === undefined || doc === undefined || Object.keys(doc).length === 0) {
    // No file, or one with nothing but comments: containerd runs on its built-in defaults, and a file
    // holding only our handler (and runc as built in) keeps those defaults for everything else.
    const schema = schemaForContainerd(containerd?.major);
    const table = tomlKeyPath(handlerPath(schema, settings.handler));
    const body = `version = ${schema}\n\n${deployTables(schema, settings, true).block}`;
    const notes = [schemaChoice(containerd, schema), RUNC_NOTE];
    if (input.text === undefined) {
      const header = '# containerd configuration written by `kata-ts deploy containerd`: everything not set here keeps\n'
        + "# containerd's built-in defaults (`containerd config default` prints them).\n";
      return { change: 'create', schema, table, text: `${header}${body}`, rewritten: false, notes, warnings: [] };
    }
    return { change: 'add', schema, table, text: appendBlock(input.text, body), rewritten: false, notes, warnings: [] };
  }
  const schema = schemaOrThrow(file, doc, containerd);
  const path = handlerPath(schema, settings.handler);
  const table = tomlKeyPath(path);
  const warnings = configWarnings(doc, schema, containerd);
  const existing = getPath(doc, path);
  if (existing !== undefined && sameValue(existing, handlerTable(schema, settings))) {
    return { change: 'none', schema, table, text: input.text, rewritten: false, notes: [], warnings };
  }
  const withRunc = usesBuiltinRuntimes(doc, schema);
  const { changes, block } = deployTables(schema, settings, withRunc);
  const result = edit(file, input.text, doc, changes, block);
  const notes = [...(withRunc ? [RUNC_NOTE] : []), ...(existing === undefined ? [] : [`the previous [${table}] was ${JSON.stringify(existing, jsonSafe)}`])];
  return { change: existing === undefined ? 'add' : 'replace', schema, table, ...result, notes, warnings };
}

/**
 * The runc table deploy spelled out, when undeploy should take it back: it still follows our marker,
 * is still the built-in one, and no other runtime is left beside it (which it would then displace).
 */
function spelledOutRunc(text: string, doc: TomlDoc, schema: ContainerdSchema, handler: string): TableChange | undefined {
  const path = handlerPath(schema, DEFAULT_HANDLER);
  const runtimes = getPath(doc, runtimesPath(schema));
  const others = isTable(runtimes) ? Object.keys(runtimes).filter((n) => n !== handler && n !== DEFAULT_HANDLER) : [];
  const header = `[${tomlKeyPath(path)}]`;
  const ours = text.includes(`${RUNC_MARKER}${header}`) || text.includes(`${RUNC_MARKER.replace('\n', '\r\n')}${header}`);
  return ours && others.length === 0 && sameValue(getPath(doc, path), defaultRuncTable(schema)) ? { path, value: undefined } : undefined;
}

/** undeploy: the file without our handler (and the runc table deploy spelled out), or unchanged when it has none. */
export function planContainerdUndeploy(input: ContainerdUndeployInput): ContainerdPlan {
  const { file, handler } = input;
  if (input.text === undefined) return { change: 'none', text: '', rewritten: false, notes: [], warnings: [] };
  const doc = parseConfig(file, input.text);
  if (Object.keys(doc).length === 0) return { change: 'none', text: input.text, rewritten: false, notes: [], warnings: [] };
  const schema = schemaOrThrow(file, doc, undefined);
  const path = handlerPath(schema, handler);
  const table = tomlKeyPath(path);
  const existing = getPath(doc, path);
  if (existing === undefined) return { change: 'none', schema, table, text: input.text, rewritten: false, notes: [], warnings: [] };
  const type = isTable(existing) ? existing['runtime_type'] : undefined;
  if (type !== KATA_RUNTIME_TYPE) {
    throw new DeployError(`${file}: runtime handler "${handler}" has runtime_type ${JSON.stringify(type ?? null)}, not "${KATA_RUNTIME_TYPE}": `
      + 'it is not a Kata handler, so undeploy leaves it alone; nothing was changed');
  }
  const runc = spelledOutRunc(input.text, doc, schema, handler);
  const changes = [...(runc ? [runc] : []), { path, value: undefined }];
  const notes = runc ? [`also removed the "${DEFAULT_HANDLER}" table deploy had spelled out (containerd's built-in one applies again)`] : [];
  return { change: 'remove', schema, table, ...edit(file, input.text, doc, changes, undefined), notes, warnings: [] };
}

function configWarnings(doc: TomlDoc, schema: ContainerdSchema, containerd: ContainerdVersion | undefined): string[] {
  const warnings: string[] = [];
  const disabled = criDisabled(doc);
  if (disabled) {
    warnings.push(`disabled_plugins lists "${disabled}": containerd's CRI plugin is off, so Kubernetes and crictl cannot use the handler `
      + '(remove it from disabled_plugins; ctr and nerdctl --runtime io.containerd.kata.v2 work either way)');
  }
  if (schema === 3 && containerd && containerd.major < 2) {
    warnings.push(`the file is config version 3, which containerd ${containerd.text} cannot read (version 3 is containerd 2.x's)`);
  }
  return warnings;
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
