/**
 * The shim's command line, parsed the way Go's `flag` package does it (single or double dash,
 * `-name value` or `-name=value`, bare booleans), because containerd and CRI-O call every shim that way.
 * Flags this shim does not know are accepted and ignored: containerd adds flags across versions.
 */

/** What containerd passes (pkg/shim parseFlags), plus the action. */
export interface ShimFlags {
  namespace: string;
  id: string;
  /** containerd's gRPC address (`-address`); empty under CRI-O. */
  address: string;
  publishBinary: string;
  bundle: string;
  /** Socket to serve on; empty means the listener inherited as fd 3. */
  socket: string;
  debug: boolean;
  version: boolean;
  info: boolean;
  /** "start", "delete", or "" for serve mode. */
  action: string;
  /** Flags seen but not known, for the log. */
  ignored: string[];
}

const STRING_FLAGS: Record<string, keyof ShimFlags> = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  bundle: 'bundle',
  socket: 'socket',
  'debug-socket': 'ignored',
};
const BOOL_FLAGS: Record<string, 'debug' | 'version' | 'info'> = { debug: 'debug', v: 'version', version: 'version', info: 'info' };
const ACTIONS = new Set(['start', 'delete']);

/** Go's strconv.ParseBool. */
function parseBool(name: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new Error(`invalid boolean value "${value}" for -${name}`);
}

/** Parses argv (without node and the script). Throws on a known string flag with no value. */
export function parseFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = {
    namespace: '', id: '', address: '', publishBinary: '', bundle: '', socket: '',
    debug: false, version: false, info: false, action: '', ignored: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    const boolKey = BOOL_FLAGS[name];
    if (boolKey) {
      flags[boolKey] = inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    const stringKey = STRING_FLAGS[name];
    if (stringKey) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
      if (stringKey === 'ignored') flags.ignored.push(name);
      else (flags[stringKey] as string) = value;
      continue;
    }
    // Unknown: a value follows unless the next word is another flag or the final action.
    flags.ignored.push(name);
    if (inline !== undefined) continue;
    const next = argv[i + 1];
    const nextIsAction = next !== undefined && ACTIONS.has(next) && i + 2 === argv.length;
    if (next !== undefined && !next.startsWith('-') && !nextIsAction) i++;
  }
  flags.action = argv[i] ?? '';
  return flags;
}
