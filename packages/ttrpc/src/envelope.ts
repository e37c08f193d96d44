/**
 * The protobuf envelope around every call: encode/decode of ttrpc.Request and ttrpc.Response.
 * Wire types stay inside this package; the rest of ttrpc-ts sees plain objects.
 */
import { protobuf } from './protobuf-runtime';
import { ttrpc, google } from './gen/envelope';
import { KeyValue } from './metadata';
import { StatusDetail, TtrpcError } from './errors';
import { Code } from './codes';

/**
 * Metadata entries one request may carry. An empty entry is two bytes on the wire but an object of
 * ~100 bytes once decoded, so a 4 MiB request of nothing else would cost hundreds of MiB of heap.
 * containerd sends a handful (its namespace, tracing keys).
 */
export const MAX_METADATA_ENTRIES = 1024;

const EMPTY = new Uint8Array(0);

export interface RequestEnvelope {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: number;
  metadata: KeyValue[];
}

export interface WireStatus {
  code: number;
  message: string;
  details: StatusDetail[];
}

export interface ResponseEnvelope {
  /** Absent means OK (Go peers omit it on success). */
  status: WireStatus | null;
  payload: Uint8Array;
}

export function encodeRequest(req: RequestEnvelope): Uint8Array {
  return ttrpc.Request.encode(req).finish();
}

/**
 * Decodes a ttrpc.Request. Written out on protobufjs' Reader (the calls the generated decoder makes)
 * so that metadata entries are counted as they are read, before they cost memory; a request over
 * MAX_METADATA_ENTRIES fails RESOURCE_EXHAUSTED. It also builds the envelope with no intermediate
 * message object, on the hottest path there is.
 */
export function decodeRequest(data: Uint8Array): RequestEnvelope {
  const reader = protobuf.Reader.create(data);
  const req: RequestEnvelope = { service: '', method: '', payload: EMPTY, timeoutNano: 0, metadata: [] };
  while (reader.pos < reader.len) {
    const tag = reader.tag();
    switch (tag) {
      case (1 << 3) | 2: // string service = 1
        req.service = reader.stringVerify();
        continue;
      case (2 << 3) | 2: // string method = 2
        req.method = reader.stringVerify();
        continue;
      case (3 << 3) | 2: // bytes payload = 3
        req.payload = reader.bytes();
        continue;
      case (4 << 3) | 0: // int64 timeout_nano = 4 (a number: Long is switched off in protobuf-runtime)
        req.timeoutNano = Number(reader.int64());
        continue;
      case (5 << 3) | 2: {
        // repeated KeyValue metadata = 5
        if (req.metadata.length === MAX_METADATA_ENTRIES) {
          throw new TtrpcError(Code.RESOURCE_EXHAUSTED, `ttrpc: request carries more than ${MAX_METADATA_ENTRIES} metadata entries`);
        }
        const kv = ttrpc.KeyValue.decode(reader, reader.size());
        req.metadata.push({ key: kv.key, value: kv.value });
        continue;
      }
    }
    // Unknown fields, and known ones with the wrong wire type, are skipped as the generated code does.
    reader.skipType(tag & 7, 0, tag >>> 3);
  }
  return req;
}

export function encodeResponse(res: ResponseEnvelope): Uint8Array {
  return ttrpc.Response.encode({
    status: res.status ? { code: res.status.code, message: res.status.message, details: res.status.details.map((d) => ({ type_url: d.typeUrl, value: d.value })) } : null,
    payload: res.payload,
  }).finish();
}

export function decodeResponse(data: Uint8Array): ResponseEnvelope {
  const r = ttrpc.Response.decode(data);
  const s = r.status as google.rpc.Status | null | undefined;
  return {
    status: s
      ? {
          code: s.code,
          message: s.message,
          details: s.details.map((d) => ({ typeUrl: d.type_url ?? '', value: d.value ?? new Uint8Array(0) })),
        }
      : null,
    payload: r.payload,
  };
}
