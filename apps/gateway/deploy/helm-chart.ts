/**
 * Generates the parts of the Helm chart (`helm/`) that must not be hand-copied: its RBAC, from @gp/rbac's
 * builders, and the settings that follow from the namespace modes. Writes or checks:
 *   pnpm --filter @gp/gateway chart          # rewrite helm/templates/rbac.yaml and helm/templates/_modes.tpl
 *   pnpm --filter @gp/gateway chart --check  # exit 1 when they are stale
 * A unit test runs the same comparison, and the k8s test compares what `helm template` renders with
 * `rbacManifests()` for the same options.
 *
 * How: a namespace-mode set decides the *shape* of the RBAC (Role or ClusterRole, RoleBindings or a
 * ClusterRoleBinding, kernel objects or not). For each combination of the chart's switches (shared, byo, auto,
 * a BYO namespace list, a kernel service account) the generator calls `rbacManifests()` with sentinel names,
 * serializes the objects and replaces the sentinels with Helm expressions (release namespace, names, each BYO
 * namespace in a `range`). The application role's rules that depend on `sparkOperator` or a template resource
 * are emitted each under the Helm condition equivalent to the rule table's `when`. A combination @gp/rbac
 * refuses becomes a `fail` with @gp/rbac's reason, in the chart's value names.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APPLICATION_RULES,
  KERNEL_RULES,
  STATE_RULES,
  TEMPLATE_RESOURCES,
  applicableRules,
  rbacManifests,
  resolveOptions,
  stateBinding,
  stateRole,
  type NamespaceMode,
  type PolicyRule,
  type RbacObject,
  type RbacOptions,
  type RuleEntry,
  type RulesTable,
} from '@gp/rbac';
import { Document, isScalar, isSeq, visit } from 'yaml';
import { manifestsToYaml, namespaceModeEnv } from './manifests.js';

export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), 'helm');
export const GENERATED_FILES = {
  rbac: join(CHART_DIR, 'templates', 'rbac.yaml'),
  modes: join(CHART_DIR, 'templates', '_modes.tpl'),
} as const;

/** Sentinels: DNS labels @gp/rbac accepts, replaced by Helm expressions after serialization. */
const SENTINEL = {
  app: 'zzappzz',
  namespace: 'zznamespacezz',
  kernelRole: 'zzkernelrolezz',
  kernelServiceAccount: 'zzkernelsazz',
  byo: 'zzbyozz',
} as const;
const RULES_PLACEHOLDER = 'zzruleszz';

const HELM = {
  app: '{{ include "gp-gateway.fullname" $ }}',
  namespace: '{{ $.Release.Namespace }}',
  kernelRole: '{{ $.Values.kernels.clusterRole }}',
  kernelServiceAccount: '{{ $.Values.kernels.serviceAccount }}',
  byo: '{{ $byoNamespace }}',
} as const;

/** @gp/rbac option names -> the chart's value names, for the messages of refused combinations. */
const VALUE_NAMES: [RegExp, string][] = [
  [/\bbyoNamespaces\b/g, 'byoNamespaces'],
  [/\bkernelServiceAccount\b/g, 'kernels.serviceAccount'],
  [/\bmodes\b/g, 'namespaceModes'],
];

/** The switches that decide the RBAC's shape; the Helm side computes the same key (see `modeKeyTemplate`). */
export interface ModeSwitches {
  shared: boolean;
  byo: boolean;
  auto: boolean;
  byoNamespaces: boolean;
  kernelServiceAccount: boolean;
}

export function modeKey(s: ModeSwitches): string {
  return `shared=${s.shared},byo=${s.byo},auto=${s.auto},byoNamespaces=${s.byoNamespaces},kernelServiceAccount=${s.kernelServiceAccount}`;
}

function allSwitches(): ModeSwitches[] {
  const out: ModeSwitches[] = [];
  for (let bits = 0; bits < 32; bits++) {
    const [shared, byo, auto, byoNamespaces, kernelServiceAccount] = [1, 2, 4, 8, 16].map((b) => (bits & b) !== 0) as [boolean, boolean, boolean, boolean, boolean];
    out.push({ shared, byo, auto, byoNamespaces, kernelServiceAccount });
  }
  return out;
}

function modesOf(s: ModeSwitches): NamespaceMode[] {
  return (['shared', 'byo', 'auto'] as const).filter((m) => s[m]);
}

/** The @gp/rbac options for a switch combination, with every optional rule on and sentinel names. */
function sentinelOptions(s: ModeSwitches): RbacOptions {
  return {
    appName: SENTINEL.app,
    namespace: SENTINEL.namespace,
    serviceAccountName: SENTINEL.app,
    modes: modesOf(s),
    byoNamespaces: s.byoNamespaces ? [SENTINEL.byo] : [],
    sparkOperator: true,
    templateResources: [...TEMPLATE_RESOURCES],
    kernelClusterRole: SENTINEL.kernelRole,
    ...(s.kernelServiceAccount ? { kernelServiceAccount: SENTINEL.kernelServiceAccount } : {}),
  };
}

/** The Helm condition equivalent to a rule's `when` (modes are already fixed by the block). */
function helmCondition(entry: RuleEntry): string | undefined {
  const parts: string[] = [];
  if (entry.when?.sparkOperator) parts.push('$.Values.sparkOperator');
  if (entry.when?.templateResource) parts.push(`(has ${JSON.stringify(entry.when.templateResource)} $.Values.kernels.templateResources)`);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : `and ${parts.join(' ')}`;
}

function ruleYaml(rule: PolicyRule): string {
  const doc = new Document([rule], { version: '1.1' });
  visit(doc, {
    Seq(_key, node) {
      if (isSeq(node) && node.items.length > 0 && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** `rules:` of a role, each rule under its condition. `rules[i]` was built from `entries[i]`. */
function rulesTemplate(rules: readonly PolicyRule[], entries: readonly RuleEntry[]): string {
  if (rules.length !== entries.length) throw new Error(`rule/entry mismatch: ${rules.length} rules, ${entries.length} table entries`);
  const lines = ['rules:'];
  rules.forEach((rule, i) => {
    const condition = helmCondition(entries[i]!);
    if (condition) lines.push(`{{- if ${condition} }}`);
    lines.push(ruleYaml(rule).trimEnd());
    if (condition) lines.push('{{- end }}');
  });
  return lines.join('\n');
}

function substituteNames(text: string): string {
  return text
    .replaceAll(SENTINEL.app, HELM.app)
    .replaceAll(SENTINEL.namespace, HELM.namespace)
    .replaceAll(SENTINEL.kernelRole, HELM.kernelRole)
    .replaceAll(SENTINEL.kernelServiceAccount, HELM.kernelServiceAccount)
    .replaceAll(SENTINEL.byo, HELM.byo);
}

function objectTemplate(object: RbacObject, s: ModeSwitches, options: RbacOptions): string {
  let text = '';
  const isRole = object.kind === 'Role' || object.kind === 'ClusterRole';
  if (isRole) {
    const name = object.metadata.name;
    const table: RulesTable = name === SENTINEL.kernelRole ? KERNEL_RULES : name === `${SENTINEL.app}-state` ? STATE_RULES : APPLICATION_RULES;
    const rules = (object as { rules: PolicyRule[] }).rules;
    text = manifestsToYaml([{ ...object, rules: RULES_PLACEHOLDER } as unknown as RbacObject]);
    text = text.replace(`rules: ${RULES_PLACEHOLDER}`, rulesTemplate(rules, applicableRules(table, options)));
  } else {
    text = manifestsToYaml([object]);
  }
  text = substituteNames(text.trimEnd());
  // One copy per listed bring-your-own namespace.
  if (s.byoNamespaces && object.metadata.namespace === SENTINEL.byo) {
    return `{{- range $byoNamespace := $.Values.byoNamespaces }}\n${text}\n{{- end }}`;
  }
  return text;
}

/** A `fail` with @gp/rbac's message, in the chart's value names and with the values given. */
function refusal(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  message = message.replace(/ \(from request variable [^)]*\)/g, '');
  for (const [pattern, name] of VALUE_NAMES) message = message.replace(pattern, name);
  const args: string[] = [];
  const byoList = JSON.stringify([SENTINEL.byo]);
  const kernelSa = JSON.stringify(SENTINEL.kernelServiceAccount);
  const pattern = new RegExp(`${escapeRegExp(byoList)}|${escapeRegExp(kernelSa)}`, 'g');
  message = message.replaceAll('%', '%%').replace(pattern, (found) => {
    args.push(found === byoList ? '(toJson $.Values.byoNamespaces)' : '$.Values.kernels.serviceAccount');
    return found === byoList ? '%s' : '%q';
  });
  return `{{- fail (printf ${JSON.stringify(`gp-gateway: these values are refused by @gp/rbac: ${message}`)} ${args.join(' ')}) }}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const HEADER = [
  '{{- /*',
  'Generated by apps/gateway/deploy/helm-chart.ts from @gp/rbac (rbacManifests) - edit the generator, not this file:',
  '  pnpm --filter @gp/gateway chart',
  'One block per combination of the switches that shape the RBAC (see "gp-gateway.modeKey" in _modes.tpl).',
  '*/}}',
].join('\n');

/**
 * The replicated gateway's state Role and its RoleBinding (kernelStore.type kubernetes): in the release namespace
 * whatever the namespace modes, so one block after the per-mode ones.
 */
function stateTemplate(): string {
  const s: ModeSwitches = { shared: true, byo: false, auto: false, byoNamespaces: false, kernelServiceAccount: false };
  const options: RbacOptions = { ...sentinelOptions(s), kernelStore: 'kubernetes' };
  const body = [stateRole(options), stateBinding(options)].map((o) => objectTemplate(o, s, options)).join('\n');
  return `{{- if eq $.Values.kernelStore.type "kubernetes" }}\n${body}\n{{- end }}`;
}

/** templates/rbac.yaml */
export function renderRbacTemplate(): string {
  const blocks: string[] = [];
  for (const s of allSwitches()) {
    if (!s.shared && !s.byo && !s.auto) continue; // the schema requires at least one mode
    const options = sentinelOptions(s);
    let body: string;
    try {
      resolveOptions(options);
      body = rbacManifests(options).map((o) => objectTemplate(o, s, options)).join('\n');
    } catch (error) {
      body = refusal(error);
    }
    blocks.push(`{{- ${blocks.length === 0 ? 'if' : 'else if'} eq $key ${JSON.stringify(modeKey(s))} }}\n${body}`);
  }
  return [
    HEADER,
    '{{- $key := include "gp-gateway.modeKey" . }}',
    ...blocks,
    '{{- else }}',
    '{{- fail (printf "gp-gateway: no RBAC for namespaceModes %v (key %s): use one or more of shared, byo, auto" .Values.namespaceModes $key) }}',
    '{{- end }}',
    stateTemplate(),
    '',
  ].join('\n');
}

/** templates/_modes.tpl: the switch key, and GP_SHARED_NAMESPACE from @gp/gateway's namespaceModeEnv(). */
export function renderModesTemplate(): string {
  const shared: string[] = [];
  for (const modes of [['shared'], ['byo'], ['auto'], ['shared', 'byo'], ['shared', 'auto'], ['byo', 'auto'], ['shared', 'byo', 'auto']] as NamespaceMode[][]) {
    const key = modes.join(',');
    shared.push(`{{- if eq $modes ${JSON.stringify(key)} }}${namespaceModeEnv(modes).GP_SHARED_NAMESPACE}{{- end }}`);
  }
  return [
    '{{- /*',
    'Generated by apps/gateway/deploy/helm-chart.ts - edit the generator, not this file: pnpm --filter @gp/gateway chart',
    '*/}}',
    '{{- /* The switches that shape the RBAC: one block of rbac.yaml per key. */}}',
    '{{- define "gp-gateway.modeKey" -}}',
    '{{- $m := .Values.namespaceModes -}}',
    '{{- printf "shared=%t,byo=%t,auto=%t,byoNamespaces=%t,kernelServiceAccount=%t" (has "shared" $m) (has "byo" $m) (has "auto" $m) (gt (len .Values.byoNamespaces) 0) (ne .Values.kernels.serviceAccount "") -}}',
    '{{- end }}',
    '{{- /* GP_SHARED_NAMESPACE for the enabled modes (namespaceModeEnv in manifests.ts). */}}',
    '{{- define "gp-gateway.sharedNamespace" -}}',
    '{{- $m := .Values.namespaceModes -}}',
    '{{- $modes := list (ternary "shared" "" (has "shared" $m)) (ternary "byo" "" (has "byo" $m)) (ternary "auto" "" (has "auto" $m)) | compact | join "," -}}',
    ...shared,
    '{{- end }}',
    '',
  ].join('\n');
}

export function renderGeneratedFiles(): Record<keyof typeof GENERATED_FILES, string> {
  return { rbac: renderRbacTemplate(), modes: renderModesTemplate() };
}

/** The generated files whose committed text differs from what the generator produces now. */
export function staleGeneratedFiles(): string[] {
  const rendered = renderGeneratedFiles();
  return (Object.keys(GENERATED_FILES) as (keyof typeof GENERATED_FILES)[]).filter((k) => {
    try {
      return readFileSync(GENERATED_FILES[k], 'utf8') !== rendered[k];
    } catch {
      return true;
    }
  }).map((k) => GENERATED_FILES[k]);
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  if (process.argv.includes('--check')) {
    const stale = staleGeneratedFiles();
    if (stale.length > 0) {
      process.stderr.write(`out of date: ${stale.join(', ')}: run 'pnpm --filter @gp/gateway chart'.\n`);
      process.exit(1);
    }
  } else {
    const rendered = renderGeneratedFiles();
    for (const k of Object.keys(GENERATED_FILES) as (keyof typeof GENERATED_FILES)[]) {
      writeFileSync(GENERATED_FILES[k], rendered[k]);
      process.stdout.write(`wrote ${GENERATED_FILES[k]}\n`);
    }
  }
}
