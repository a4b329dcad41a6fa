import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
    // effect and @effect/* ship ES modules only (used by src/effect and spec/effect): converted to CommonJS.
    '/node_modules/(effect|@effect)/.+\\.js$': '<rootDir>/spec/support/esm-to-cjs.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!(effect|@effect)/)'],
  testTimeout: 60_000,
};

export default config;
