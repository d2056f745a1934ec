import { defineConfig } from 'tsup';

// One output module per source module (no bundling): dist/index.js re-exports from separate files, so a
// consumer's bundler can drop whole modules (e.g. serialize.js and with it the `yaml` package) that an
// import does not use. A single bundled index.js would keep the top-level `import ... from 'yaml'`.
export default defineConfig({
  entry: ['src/**/*.ts', '!src/**/*.test.ts'],
  bundle: false,
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
});
