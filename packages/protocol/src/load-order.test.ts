describe('generated code loaded before anything else', () => {
  it('uses plain numbers for 64-bit defaults and decoded values', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { agent } = require('./kata') as typeof import('./kata');
      const decoded = agent.WaitProcessResponse.decode(new Uint8Array(0));
      expect(typeof decoded.status).toBe('number');
      const stats = agent.MemoryData.decode(agent.MemoryData.encode({ usage: 2 ** 40 }).finish());
      expect(stats.usage).toBe(2 ** 40);
      expect(typeof agent.MemoryData.decode(new Uint8Array(0)).usage).toBe('number');
    });
  });
});
