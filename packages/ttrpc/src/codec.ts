/** Turns one message type to bytes and back. Generated protobufjs classes fit via protobufCodec(). */
export interface Codec<T> {
  encode(message: T): Uint8Array;
  decode(data: Uint8Array): T;
}

/** The static surface of a protobufjs-generated message class. */
export interface ProtobufType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

/** Adapts a protobufjs static class (pbjs -t static-module) to a Codec. */
export function protobufCodec<T>(type: ProtobufType<T>): Codec<T> {
  return {
    encode: (message) => type.encode(message).finish(),
    decode: (data) => type.decode(data),
  };
}
