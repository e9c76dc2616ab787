import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Two tiers: `unit` (pure domain, handlers with SDK mocks, CDK assertions, ASL files) runs in
// parallel; `integration` (real Kafka brokers, DynamoDB Local) runs one file at a time because
// the machine has 2 cores and each file starts its own JVMs.
export default defineConfig({
  resolve: {
    // The probe library's layer module name (layers/probe): functions that load it from the
    // Lambda layer import it by this name; in the repository it is the source, as in tsconfig.json.
    alias: { '@kafka-heal/probe': fileURLToPath(new URL('./functions/shared/probe/index.ts', import.meta.url)) },
  },
  test: {
    // Handlers log through Powertools; tests assert on results, not on log lines, and CI output
    // stays readable. A test that needs the logs can stub the variable back.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          setupFiles: ['test/setup/unit-tmpdir.ts'],
          include: [
            'test/unit/**/*.test.ts',
            'test/functions/**/*.test.ts',
            'test/infra/**/*.test.ts',
            'test/statemachines/**/*.test.ts',
            'test/cli/**/*.test.ts',
          ],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/drills/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'local/**/*.ts', 'cli/**/*.ts', 'tools/**/*.ts', 'infra/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        // Decisions are pure and must be fully exercised, both sides of every threshold.
        'functions/domain/**/*.ts': { branches: 100, functions: 100, lines: 100, statements: 100 },
        // The capacity planner is pure arithmetic like the domain, used by the CLI only.
        'tools/capacity.ts': { branches: 100, functions: 100, lines: 100, statements: 100 },
      },
    },
  },
});
