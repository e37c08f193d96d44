// Three tiers kept apart: unit (no root, no VM), integration (real peers such as containerd,
// real sockets), e2e (containerd + QEMU + guest image). See STYLE lesson 11.
const path = require('node:path');

const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const moduleNameMapper = {
  '^ttrpc-ts$': '<rootDir>/packages/ttrpc/src/index.ts',
  '^node-vsock$': '<rootDir>/packages/node-vsock/src/index.ts',
  '^@kata-ts/protocol$': '<rootDir>/packages/protocol/src/index.ts',
  '^@kata-ts/protocol/(.*)$': '<rootDir>/packages/protocol/src/$1',
  '^@kata-ts/shim$': '<rootDir>/packages/shim/src/index.ts',
  '^@kata-ts/agent$': '<rootDir>/packages/agent/src/index.ts',
};
const common = { rootDir: path.resolve(__dirname), transform: { '^.+\\.ts$': swc }, moduleNameMapper, testEnvironment: 'node' };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/packages/*/test/**/*.itest.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e.ts'] },
  ],
};
