/**
 * The protobuf envelope around every call: encode/decode of ttrpc.Request and ttrpc.Response.
 * Wire types stay inside this package; the rest of ttrpc-ts sees plain objects.
 */
import './protobuf-runtime';
import { ttrpc, google } from './gen/envelope';
import { KeyValue } from './metadata';
import { StatusDetail } from './errors';

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

export function decodeRequest(data: Uint8Array): RequestEnvelope {
  const r = ttrpc.Request.decode(data);
  return {
    service: r.service,
    method: r.method,
    payload: r.payload,
    timeoutNano: Number(r.timeoutNano),
    metadata: r.metadata.map((kv) => ({ key: kv.key ?? '', value: kv.value ?? '' })),
  };
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
