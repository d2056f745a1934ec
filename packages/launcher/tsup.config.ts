import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';

/** Puts @gp/templates' templates next to the bundles, as in a kernelspec's scripts/ (the bundle reads them there). */
function copyTemplates(): void {
  const root = dirname(createRequire(import.meta.url).resolve('@gp/templates/package.json'));
  const dir = join(root, 'templates');
  if (!existsSync(dir)) throw new Error(`@gp/templates has no templates/ directory (${dir})`);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.j2'))) copyFileSync(join(dir, name), join('dist', 'scripts', name));
}

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
    // Bundle workspace packages from their sources (the `@gp/source` condition), so the scripts never depend
    // on a sibling's possibly stale dist/.
    esbuildOptions(options) {
      options.conditions = ['@gp/source', 'import', 'module', 'node', 'default'];
    },
    onSuccess: async () => copyTemplates(),
  },
]);
