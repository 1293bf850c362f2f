import { defineConfig } from 'vitest/config';

// Tests that measure latency run alone, after all the others: on two cores, the rest of the
// suite running beside them would be what they measure.
const ALONE = ['test/e2e/proxy-stall.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: e2e tests spawn the CLI, so keep the worker count modest.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
