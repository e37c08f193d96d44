import { MAX_METADATA_ENTRIES, decodeRequest, encodeRequest } from './envelope';
import { ttrpc } from './gen/envelope';
import { Code } from './codes';

describe('decodeRequest', () => {
  const request = {
    service: 'containerd.task.v2.Task',
    method: 'Create',
    payload: Buffer.from([1, 2, 3]),
    timeoutNano: 5_000_000_000,
    metadata: [
      { key: 'containerd-namespace-ttrpc', value: 'default' },
      { key: 'x', value: '' },
    ],
  };

  it('reads what the generated encoder writes', () => {
    const decoded = decodeRequest(encodeRequest(request));
    expect({ ...decoded, payload: Buffer.from(decoded.payload) }).toEqual(request);
  });

  it('agrees with the generated decoder on unknown fields and wrong wire types', () => {
    const valid = Buffer.from(encodeRequest(request));
    // field 9 varint, field 1 as a varint (wrong wire type), field 15 as a closed group
    const extra = Buffer.from([0x48, 0x05, 0x08, 0x07, 0x7b, 0x08, 0x01, 0x7c]);
    const data = Buffer.concat([valid, extra]);
    const ours = decodeRequest(data);
    const generated = ttrpc.Request.decode(data);
    expect(ours.service).toBe(generated.service);
    expect(ours.metadata).toEqual(generated.metadata.map((kv) => ({ key: kv.key, value: kv.value })));
  });

  it('rejects garbage the way the generated decoder does', () => {
    for (const bad of [Buffer.from([0x0a, 0x05, 0x61]), Buffer.from([0x00]), Buffer.from([0x0a, 0x01, 0xff])]) {
      expect(() => ttrpc.Request.decode(bad)).toThrow();
      expect(() => decodeRequest(bad)).toThrow();
    }
  });

  it(`stops at ${MAX_METADATA_ENTRIES} metadata entries, before they are all decoded`, () => {
    const entries = (n: number) => Buffer.concat([Buffer.from(encodeRequest({ ...request, metadata: [] })), Buffer.alloc(2 * n).fill(Buffer.from([0x2a, 0x00]))]);
    expect(decodeRequest(entries(MAX_METADATA_ENTRIES)).metadata).toHaveLength(MAX_METADATA_ENTRIES);
    // Two million empty entries fit in one 4 MiB frame.
    expect(() => decodeRequest(entries(2_000_000))).toThrow(expect.objectContaining({ code: Code.RESOURCE_EXHAUSTED }));
  });
});
