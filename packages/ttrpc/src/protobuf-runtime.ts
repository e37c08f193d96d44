/**
 * Configures the protobufjs runtime shared by all generated code: 64-bit integers decode to plain JS
 * numbers, matching the types the generator emits (--force-number). Every counter, pid, size and
 * timestamp in these APIs fits in 2^53. Importing this module is enough; it is idempotent.
 */
import * as protobuf from 'protobufjs/minimal';

const util = protobuf.util as unknown as { Long: unknown };
if (util.Long) {
  util.Long = undefined;
  protobuf.configure();
}

export { protobuf };
