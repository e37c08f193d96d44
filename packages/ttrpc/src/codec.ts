/**
 * Turns one message type to bytes and back. `In` is what encode accepts (plain objects with optional
 * fields), `Out` what decode returns (a message with every field set). Generated protobufjs classes fit
 * via protobufCodec().
 */
export interface Codec<In, Out = In> {
  encode(message: In): Uint8Array;
  decode(data: Uint8Array): Out;
}

/** The static surface of a protobufjs-generated message class. */
export interface ProtobufType<In, Out> {
  encode(message: In): { finish(): Uint8Array };
  decode(data: Uint8Array): Out;
}

/** Adapts a protobufjs static class (pbjs -t static-module) to a Codec. */
export function protobufCodec<In, Out>(type: ProtobufType<In, Out>): Codec<In, Out> {
  return {
    encode: (message) => type.encode(message).finish(),
    decode: (data) => type.decode(data),
  };
}

/** Bytes through unchanged: for callers that pass messages on without decoding them (proxies, raw tools). */
export const bytesCodec: Codec<Uint8Array> = { encode: (b) => b, decode: (b) => b };
