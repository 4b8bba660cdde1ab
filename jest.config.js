// One jest project per test tier of SPEC §5; `npm test` runs them all, `--selectProjects <tier>` one.
const transform = { '^.+\\.ts$': ['@swc/jest'] };

const tier = (name, testTimeout) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  testTimeout,
});

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    tier('workflow', 60_000),
    tier('replay', 60_000),
    tier('activities', 60_000),
    tier('api', 120_000),
    tier('e2e', 600_000),
  ],
};
