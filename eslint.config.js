import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// A module two or more folders away is imported through a package.json `imports` alias.
const DEEP_IMPORT = {
  group: ['../../*'],
  message: 'Import from two or more folders up through a package.json alias (#domain/, #shared/, #infra/, ...).',
};

export default tseslint.config(
  {
    ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.cache/', 'reports/', '**/dist/', 'layers/**/nodejs/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
      'no-restricted-imports': [
        'error',
        {
          patterns: [DEEP_IMPORT],
        },
      ],
    },
  },
  {
    // Lambda code: `import { z } from 'zod'` pulls zod's whole namespace, every locale included
    // (about 440 KB), into each bundle; a namespace import keeps only what is used.
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'` in Lambda code (bundle size, npm run bench -- bundles).",
        },
      ],
      // Lambda code imports only Lambda code (docs/architecture.md, Layers); for example the runbook
      // loader (infra/runbooks.ts) bundles a YAML parser (about 110 KB), where Lambdas read results
      // through shared/runbook-output.js.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            DEEP_IMPORT,
            {
              regex: '^#(infra|local|tools|cli|bench|test|layers)/',
              message:
                'Lambda code imports only functions/ (the CDK app, local runtime, CLI and tools are higher layers).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
