import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: dependencies stay external (one copy of @gp/core's error classes for consumers).
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    target: 'node20',
    sourcemap: true,
  },
  {
    // The executable: @gp/core, @gp/rbac and yargs bundled from source for a fast cold start; subcommands
    // are split into chunks loaded on demand. @gp/launcher and @gp/templates are only resolved as files.
    entry: { 'k8s-spec': 'src/bin/k8s-spec.ts' },
    outDir: 'dist/bin',
    format: ['esm'],
    dts: false,
    clean: false,
    target: 'node20',
    platform: 'node',
    splitting: true,
    sourcemap: false,
    noExternal: ['@gp/core', '@gp/rbac', 'yargs', /^yargs\//],
    external: ['@gp/launcher', '@gp/templates'],
    // Bundled CommonJS dependencies (yaml, loaded only for YAML config files) need a real `require`.
    banner: {
      js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
    },
    esbuildOptions(options) {
      options.conditions = ['@gp/source', 'module', 'import', 'node'];
    },
  },
]);
