/**
 * @kata-ts/protocol. The API families are separate entry points so a process loads only what it
 * speaks: '@kata-ts/protocol/containerd', '@kata-ts/protocol/kata', '@kata-ts/protocol/cri'.
 * This barrel holds what they share.
 */
export {
  OCI_TYPE_URL_PREFIX, OciTypeUrl, TypeUrlError, packAny, packJsonAny, typeUrlMatches, unpackAny, unpackJsonAny,
} from './typeurl';
export type { AnyMessage } from './typeurl';
