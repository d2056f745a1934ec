import { defineConfig } from 'vitest/config';

// Workspace packages resolve each other's TypeScript sources through the `@gp/source`
// export condition, so tests never wait for a build.
const conditions = ['@gp/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/deploy/**/*.test.ts'],
          exclude: ['**/*.k8s.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'k8s',
          include: ['packages/*/src/**/*.k8s.test.ts', 'apps/*/src/**/*.k8s.test.ts', 'apps/*/deploy/**/*.k8s.test.ts'],
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
