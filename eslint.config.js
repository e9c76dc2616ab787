import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      // runbooks.ts loads documents with a YAML parser (about 110 KB); Lambdas only read results.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/shared/runbooks.js'],
              message:
                'Lambda code reads runbook results through shared/runbook-output.js (runbooks.ts bundles a YAML parser).',
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
