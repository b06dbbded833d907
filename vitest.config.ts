import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // the solver-based tests run real simulations
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
