import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: dependencies stay external.
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    target: 'node20',
    sourcemap: true,
  },
  {
    // The kernelspec launch scripts: one self-contained file each, needing only `node`.
    entry: {
      'scripts/launch_kubernetes': 'src/bin/launch-kubernetes.ts',
      'scripts/launch_custom_resource': 'src/bin/launch-custom-resource.ts',
    },
    format: ['esm'],
    outExtension: () => ({ js: '.mjs' }),
    dts: false,
    clean: false,
    target: 'node20',
    platform: 'node',
    noExternal: [/.*/],
    splitting: false,
    banner: {
      js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
    },
  },
]);
