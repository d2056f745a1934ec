import { Document, isScalar, isSeq, visit } from 'yaml';
import type { RbacObject } from './types.js';

/**
 * Multi-document YAML, one document per object in the given order, each starting with `---`; ready for
 * `kubectl apply -f -`. Emitted as YAML 1.1 so that values kubectl's parser would read as booleans
 * (`yes`, `on`, `y`...) are quoted, and without anchors/aliases.
 */
export function toYaml(objects: readonly RbacObject[]): string {
  return objects
    .map((object) => `---\n${documentText(object)}`)
    .join('');
}

function documentText(object: RbacObject): string {
  const doc = new Document(object, { version: '1.1', aliasDuplicateObjects: false });
  // Lists of plain values (apiGroups, resources, verbs...) in flow style, as in the spec: `verbs: [get, list]`.
  visit(doc, {
    Seq(_key, node) {
      if (isSeq(node) && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/**
 * A single JSON `v1` `List` holding the objects in order (pretty-printed, trailing newline).
 * `kubectl apply -f -` accepts a `List`; it does not accept a bare JSON array.
 */
export function toJson(objects: readonly RbacObject[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
}
