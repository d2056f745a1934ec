/**
 * The kernel contract: how kernels find their namespace (the spec's "Namespaces"). One spelling everywhere
 * (the launcher's resolved mode, the RBAC generator, the Helm chart, `k8s-spec rbac --modes`):
 * - `shared`: every kernel in the host's namespace (`GP_SHARED_NAMESPACE=true`);
 * - `byo`: a pre-existing namespace the request names (`KERNEL_NAMESPACE`);
 * - `auto`: a namespace created for each kernel and deleted with it.
 * `bring-your-own` and `automatic` are read as aliases (records persisted by earlier versions say `automatic`).
 */
import { ConfigError, type ValueSource } from '../errors.js';

export const NAMESPACE_MODES = ['shared', 'byo', 'auto'] as const;
export type NamespaceMode = (typeof NAMESPACE_MODES)[number];

/** Other spellings accepted on input, with the mode each means. */
export const NAMESPACE_MODE_ALIASES: Readonly<Record<string, NamespaceMode>> = Object.freeze({ 'bring-your-own': 'byo', automatic: 'auto' });

/** The mode a spelling means (a mode or an alias), or undefined. */
export function namespaceModeOf(raw: unknown): NamespaceMode | undefined {
  if (typeof raw !== 'string') return undefined;
  const mode = Object.hasOwn(NAMESPACE_MODE_ALIASES, raw) ? NAMESPACE_MODE_ALIASES[raw] : raw;
  return (NAMESPACE_MODES as readonly string[]).includes(mode as string) ? (mode as NamespaceMode) : undefined;
}

/** A namespace mode or an alias; throws a ConfigError naming what is valid. */
export function parseNamespaceMode(raw: unknown, option = 'namespace_mode', source: ValueSource = { kind: 'default' }): NamespaceMode {
  const mode = namespaceModeOf(raw);
  if (mode === undefined) throw new ConfigError(option, source, raw, `one of ${NAMESPACE_MODES.join(', ')} (aliases: ${Object.keys(NAMESPACE_MODE_ALIASES).join(', ')})`);
  return mode;
}
