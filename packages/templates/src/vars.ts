/**
 * Template variables from a kernel's environment, as the reference's launchers build them: every `KERNEL_*`
 * variable becomes `kernel_*`.
 */
import { parseDocument } from 'yaml';
import { TemplateVariableError } from './errors.js';
import type { TemplateVars } from './render.js';

/** The variables parsed as lists of objects (JSON, or YAML flow or block). Everything else stays a string. */
export const LIST_VARIABLES = ['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS'] as const;

const MAX_LIST_TEXT = 256 * 1024;

function parseObjectList(name: string, text: string): Record<string, unknown>[] {
  const variable = name.toLowerCase();
  const expected = 'a list of objects, as JSON or YAML (e.g. [{"name": "data", "mountPath": "/data"}])';
  if (text.trim() === '') return [];
  if (text.length > MAX_LIST_TEXT) throw new TemplateVariableError(variable, `(${text.length} characters)`, `${expected} of at most ${MAX_LIST_TEXT} characters`);
  let value: unknown;
  try {
    // YAML 1.1, as the reference's yaml.safe_load; no aliases, no duplicate keys, no custom or unknown tags.
    const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, merge: false, strict: true, prettyErrors: false, logLevel: 'silent' });
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw problem;
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    throw new TemplateVariableError(variable, text, `${expected}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (!Array.isArray(value)) throw new TemplateVariableError(variable, text, expected);
  value.forEach((entry, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new TemplateVariableError(variable, text, `${expected}; entry ${index} is ${entry === null ? 'null' : Array.isArray(entry) ? 'a list' : typeof entry}`);
    }
    checkPlain(variable, text, entry, 0);
  });
  return value as Record<string, unknown>[];
}

function checkPlain(variable: string, text: string, v: unknown, depth: number): void {
  if (depth > 32) throw new TemplateVariableError(variable, text, 'at most 32 levels of nesting');
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return;
    throw new TemplateVariableError(variable, text, 'plain data (strings, numbers, booleans, null, lists, mappings)');
  }
  if (v instanceof Date || v instanceof Uint8Array || v instanceof Map || v instanceof Set) {
    throw new TemplateVariableError(variable, text, 'plain data (no timestamps, binary, or non-string keys)');
  }
  for (const x of Object.values(v)) checkPlain(variable, text, x, depth + 1);
}

/**
 * `KERNEL_CPUS=2` -> `{ kernel_cpus: "2" }`. `KERNEL_VOLUMES` and `KERNEL_VOLUME_MOUNTS` are parsed into lists of
 * objects (a value that is not a list of objects is a TemplateVariableError, a ConfigError); an empty value is an
 * empty list. Every other value stays a string: numbers are not converted (the templates' `| int` filter accepts
 * strings), so `KERNEL_MEMORY=010` stays "010" rather than becoming 8 as with the reference's yaml.safe_load.
 */
export function kernelTemplateVars(env: Record<string, string | undefined>): TemplateVars {
  const vars: TemplateVars = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('KERNEL_')) continue;
    const key = name.toLowerCase();
    vars[key] = (LIST_VARIABLES as readonly string[]).includes(name) ? parseObjectList(name, value) : value;
  }
  return vars;
}
