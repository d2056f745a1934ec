import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { build as tsupBuild, type Options as TsupOptions } from 'tsup';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Bundles `source` (an entry importing '@gp/rbac' by its package name) the way a consumer's bundler would. */
async function bundle(source: string, resolveDir = packageDir): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    stdin: { contents: source, resolveDir, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    metafile: true,
    // Resolve workspace packages from their sources (as vitest and tsc do), not from a possibly stale dist/.
    conditions: ['@gp/source'],
    logLevel: 'silent',
  });
  // Only the inputs that contribute bytes to the output (parsed-then-dropped modules have none).
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {}).filter(([, info]) => info.bytesInOutput > 0).map(([path]) => path);
  return { code: result.outputFiles[0]?.text ?? '', inputs };
}

describe('tree-shaking', () => {
  it('`import { kernelClusterRole }` pulls in neither the serializer nor the yaml package', async () => {
    const { code, inputs } = await bundle("import { kernelClusterRole } from '@gp/rbac'; console.log(kernelClusterRole());");
    expect(code).toContain('kernel-controller');
    expect(inputs.filter((input) => /node_modules[\\/](\.pnpm[\\/])?yaml/.test(input))).toEqual([]);
    expect(inputs.filter((input) => input.endsWith('serialize.ts'))).toEqual([]);
    expect(code).not.toMatch(/function toYaml|aliasDuplicateObjects/);
  });

  it('`import { toYaml }` does bundle the yaml package (so the check above can fail)', async () => {
    const { inputs } = await bundle("import { toYaml } from '@gp/rbac'; console.log(toYaml([]));");
    expect(inputs.some((input) => /node_modules[\\/](\.pnpm[\\/])?yaml/.test(input))).toBe(true);
    expect(inputs.some((input) => input.endsWith('serialize.ts'))).toBe(true);
  });
});

describe('tree-shaking of the published build (tsup.config.ts)', () => {
  it('keeps modules separate, so `kernelClusterRole` from dist/ leaves yaml out too', async () => {
    // Inside this package's node_modules, so the build's own imports (yaml, @gp/core) resolve as installed.
    const dir = await mkdtemp(join(packageDir, 'node_modules', '.treeshake-'));
    try {
      // The package's real build configuration (a computed specifier keeps it outside tsc's rootDir).
      const configUrl = new URL('../tsup.config.ts', import.meta.url).href;
      const options = ((await import(configUrl)) as { default: TsupOptions }).default;
      const entry = (options.entry as string[]).map((e) => (e.startsWith('!') ? `!${packageDir}${e.slice(1)}` : `${packageDir}${e}`));
      await tsupBuild({ ...options, entry, outDir: join(dir, 'node_modules/@gp/rbac/dist'), dts: false, sourcemap: false, silent: true, config: false });
      await writeFile(
        join(dir, 'node_modules/@gp/rbac/package.json'),
        JSON.stringify({ name: '@gp/rbac', type: 'module', sideEffects: false, exports: { '.': './dist/index.js' } }),
      );
      // A consumer package of its own, so '@gp/rbac' is not resolved as this package's self-reference.
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'treeshake-consumer', private: true }));
      const shaken = await bundle("import { kernelClusterRole } from '@gp/rbac'; console.log(kernelClusterRole());", dir);
      expect(shaken.inputs).toContainEqual(expect.stringMatching(/rbac\/dist\/builders\.js$/));
      expect(shaken.inputs.filter((input) => /yaml|serialize/.test(input))).toEqual([]);
      const full = await bundle("import { toYaml } from '@gp/rbac'; console.log(toYaml([]));", dir);
      expect(full.inputs.some((input) => input.includes('rbac/dist/serialize.js'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
