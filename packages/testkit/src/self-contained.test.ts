/**
 * The project owns every file it needs: a clone has nothing beside it, so no tracked file (sources,
 * scripts, configs) may reach for the `shared/` notes folder that sits beside the developers' checkout.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './python.js';

// A path into the notes folder beside the checkout, spelled as a string or as the segments `<root>, '..', NAME`
// (one level above a named directory; `'..', '..', NAME` inside kernel-launchers/ stays in the repo), or the old
// override variable. Built from parts so that this file does not match its own patterns.
const NOTES = 'sha' + 'red';
const OVERRIDE = ['GP', NOTES.toUpperCase(), 'DIR'].join('_');
const READS_SHARED = [
  new RegExp(`\\.\\./${NOTES}\\b`),
  new RegExp(`\\w\\s*,\\s*['"]\\.\\.['"]\\s*,\\s*['"]${NOTES}['"]`),
  new RegExp(OVERRIDE),
];

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.endsWith('.md') && !f.endsWith('pnpm-lock.yaml'));
}

describe('self-contained checkout', () => {
  it('has no tracked file that reads the notes folder beside the checkout', () => {
    const offenders = trackedFiles().filter((file) => {
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
    expect(READS_SHARED.some((re) => re.test(`join(repoRoot, '..', '${NOTES}')`))).toBe(true);
    expect(READS_SHARED.some((re) => re.test(`cat ../${NOTES}/k8s/crds/x.yaml`))).toBe(true);
    expect(READS_SHARED.some((re) => re.test(`process.env.${OVERRIDE}`))).toBe(true);
    expect(READS_SHARED.some((re) => re.test("join(repoRoot, 'packages', 'testkit', 'crds')"))).toBe(false);
    expect(READS_SHARED.some((re) => re.test(`os.path.join(_HERE, "..", "..", "${NOTES}", "scripts")`))).toBe(false);
  });
});
