/**
 * Safe parsing of rendered multi-document YAML into Kubernetes objects: YAML 1.2 core schema, no duplicate keys,
 * no merge keys, bounded aliases, no custom tags; every non-empty document must be an object with `apiVersion`
 * and `kind`.
 */
import { isMap, isScalar, parseAllDocuments, visit } from 'yaml';
import { RenderedYamlError } from './errors.js';

/** The fields gp relies on; everything else is passed through. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ParseDocumentsOptions {
  /** The template's name, for error messages. */
  name?: string;
  /** Maximum number of alias expansions in a document (0 refuses aliases). Default 100. */
  maxAliasCount?: number;
  /** Maximum number of documents. Default 100. */
  maxDocuments?: number;
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/**
 * Parses rendered YAML. Empty documents (a lone `---`, comments only) are skipped. Throws RenderedYamlError
 * (code GP_INVALID_MANIFEST) naming the document and line.
 */
export function parseRenderedDocuments(yamlText: string, options: ParseDocumentsOptions = {}): KubernetesObject[] {
  const name = options.name ?? 'the rendered template';
  const maxAliasCount = options.maxAliasCount ?? 100;
  const maxDocuments = options.maxDocuments ?? 100;
  const parsed = parseAllDocuments(yamlText, { version: '1.2', schema: 'core', uniqueKeys: true, merge: false, strict: true, prettyErrors: false, logLevel: 'silent' });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length > maxDocuments) throw new RenderedYamlError(`${name} has ${docs.length} YAML documents; at most ${maxDocuments} are allowed.`, { details: { template: name } });
  const out: KubernetesObject[] = [];
  docs.forEach((doc, index) => {
    const where = `document ${index + 1} of ${name}`;
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      throw new RenderedYamlError(`${where} is not valid YAML: ${problem.message.split('\n')[0]} (line ${lineOf(yamlText, problem.pos[0])}).`, {
        details: { template: name, document: index + 1, code: problem.code },
      });
    }
    let complexKey: unknown;
    visit(doc, {
      Pair(_key, pair, path) {
        if (pair.key !== null && !isScalar(pair.key) && isMap(path[path.length - 1])) {
          complexKey = pair.key;
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (complexKey !== undefined) {
      throw new RenderedYamlError(`${where} has a mapping key that is a list or mapping; Kubernetes objects only have string keys.`, {
        details: { template: name, document: index + 1 },
      });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (error) {
      throw new RenderedYamlError(`${where} cannot be read: ${(error as Error).message} (aliases are limited to ${maxAliasCount} expansions).`, {
        cause: error,
        details: { template: name, document: index + 1 },
      });
    }
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new RenderedYamlError(`${where} is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}; each document must be a Kubernetes object (a mapping with apiVersion and kind).`, {
        details: { template: name, document: index + 1 },
      });
    }
    const obj = value as Record<string, unknown>;
    for (const field of ['apiVersion', 'kind'] as const) {
      if (typeof obj[field] !== 'string' || obj[field] === '') {
        throw new RenderedYamlError(`${where} has no ${field} (a non-empty string is required); got ${JSON.stringify(obj[field] ?? null)}.`, {
          details: { template: name, document: index + 1, field },
        });
      }
    }
    if (obj.metadata !== undefined && obj.metadata !== null && (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
      throw new RenderedYamlError(`${where} has a metadata that is not a mapping.`, { details: { template: name, document: index + 1 } });
    }
    assertPlain(obj, where, name, index + 1);
    out.push(obj as KubernetesObject);
  });
  return out;
}

/** No Maps (non-string keys), Sets, dates or binary: everything must be JSON data for the API server. */
function assertPlain(v: unknown, where: string, name: string, document: number): void {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) {
      throw new RenderedYamlError(`${where} contains a number JSON cannot carry (${String(v)}).`, { details: { template: name, document } });
    }
    return;
  }
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) {
    throw new RenderedYamlError(`${where} contains a ${v.constructor?.name ?? 'non-plain'} value; only JSON data (mappings with string keys, lists, strings, numbers, booleans, null) is allowed.`, {
      details: { template: name, document },
    });
  }
  for (const x of Object.values(v)) assertPlain(x, where, name, document);
}
