import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/host.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
  // Only ever loaded inside vitest: never bundle it.
  external: ['vitest', 'vitest/node'],
});
