import { Metadata } from './metadata';
import { ServerCall } from './server-call';
import { method } from './service';

describe('ServerCall', () => {
  const codec = { encode: () => new Uint8Array(0), decode: () => ({}) };
  const make = () => new ServerCall(1, method('M', codec, codec), { service: 's', method: 'M', metadata: new Metadata(), timeoutNano: 0 });

  it('aborts a signal the handler already holds when the call is cancelled', () => {
    const call = make();
    const signal = call.context.signal;
    expect(signal.aborted).toBe(false);
    call.cancel();
    expect(signal.aborted).toBe(true);
  });

  it('hands out an aborted signal when first asked after the cancel (the controller is made lazily)', () => {
    const call = make();
    call.cancel();
    expect(call.context.signal.aborted).toBe(true);
  });
});
