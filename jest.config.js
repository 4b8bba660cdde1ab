// One jest project per test tier (README's Testing section); `npm test` runs them all, `--selectProjects <tier>` one.
const transform = { '^.+\\.ts$': ['@swc/jest'] };

const tier = (name) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
});

module.exports = {
  // A global option in jest (projects cannot set it); the e2e tier raises it per file.
  testTimeout: 120_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    tier('workflow'),
    tier('replay'),
    tier('activities'),
    tier('api'),
    tier('e2e'),
    tier('workers'),
    tier('browser'),
  ],
};
