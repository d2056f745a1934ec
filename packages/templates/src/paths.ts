/** The templates shipped in kernelspecs (the `templates/` directory of this package). */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TemplateNameError } from './errors.js';

export const TEMPLATE_NAMES = ['kernel-pod.yaml.j2', 'sparkoperator.k8s.io-v1beta2.yaml.j2'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** `packages/templates/templates`, from `src/paths.ts` or `dist/index.js` alike (both are one level down). */
export function templatesDir(): string {
  return fileURLToPath(new URL('../templates/', import.meta.url));
}

/**
 * The absolute path of a shipped template. Other plain file names (e.g. `<group>-<version>.yaml.j2` of another
 * CRD) resolve in the same directory, whether or not they exist; names with path separators are refused.
 */
export function templateFilePath(name: TemplateName | (string & {})): string {
  if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..' || isAbsolute(name) || name.includes('\0')) {
    throw new TemplateNameError(name, `a template file name such as ${TEMPLATE_NAMES.join(' or ')}`);
  }
  const primary = join(templatesDir(), name);
  if (existsSync(primary)) return primary;
  // Bundled into a launch script (e.g. @gp/launcher's dist/scripts/*.mjs), the templates sit next to the bundle.
  const beside = join(fileURLToPath(new URL('./', import.meta.url)), name);
  return existsSync(beside) ? beside : primary;
}
