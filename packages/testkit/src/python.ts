import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (where pnpm-workspace.yaml is). */
export const repoRoot: string = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The SparkApplication CRD the project vendors (see `packages/testkit/crds/README.md` for its source). */
export const sparkApplicationCrdPath: string = join(repoRoot, 'packages', 'testkit', 'crds', 'sparkoperator.k8s.io_sparkapplications.yaml');

/**
 * The Python interpreter of the project's venv (created by `scripts/python-env.sh`, which
 * `scripts/test.sh` runs first). Throws a clear error if it is missing.
 */
export function testPython(): string {
  const python = process.env.GP_TEST_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`No Python venv at ${python}: run 'bash scripts/python-env.sh' (scripts/test.sh does it for you).`);
  }
  return python;
}

/** The venv's bin directory, to put first on PATH for subprocesses (jupyter, python). */
export function testPythonBin(): string {
  return dirname(testPython());
}
