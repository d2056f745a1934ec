/**
 * The project owns every file it needs: a clone has nothing beside it, so no tracked file (sources,
 * scripts, configs) may reach for the `shared/` notes folder that sits beside the developers' checkout.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './python.js';

// A path into ../shared, spelled as a string or as the segments `<root>, '..', 'shared'` (one level above a
// named directory; `'..', '..', 'shared'` inside kernel-launchers/ stays in the repo), or the old override.
const READS_SHARED = [/\.\.\/shared\b/, /\w\s*,\s*['"]\.\.['"]\s*,\s*['"]shared['"]/, /GP_SHARED_DIR/];

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.endsWith('.md') && !f.endsWith('pnpm-lock.yaml'));
}

describe('self-contained checkout', () => {
  it('has no tracked file that reads ../shared', () => {
    const offenders = trackedFiles().filter((file) => {
      if (file === 'packages/testkit/src/self-contained.test.ts') return false; // the patterns themselves
      let text: string;
      try {
        text = readFileSync(join(repoRoot, file), 'utf8');
      } catch {
        return false; // deleted in the work tree
      }
      return READS_SHARED.some((re) => re.test(text));
    });
    expect(offenders).toEqual([]);
  });

  it('recognises the ways a file could read it', () => {
    expect(READS_SHARED.some((re) => re.test("join(repoRoot, '..', 'shared')"))).toBe(true);
    expect(READS_SHARED.some((re) => re.test('cat ../shared/k8s/crds/x.yaml'))).toBe(true);
    expect(READS_SHARED.some((re) => re.test('process.env.GP_SHARED_DIR'))).toBe(true);
    expect(READS_SHARED.some((re) => re.test("join(repoRoot, 'packages', 'testkit', 'crds')"))).toBe(false);
    expect(READS_SHARED.some((re) => re.test('os.path.join(_HERE, "..", "..", "shared", "scripts")'))).toBe(false);
  });
});
