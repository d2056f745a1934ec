/**
 * `k8s-spec rbac`: prints the least-privilege RBAC manifests (@gp/rbac) for a gp host application and its
 * kernels, as multi-document YAML or a JSON `v1` List, ready for `kubectl apply -f -`.
 *
 * Bad options throw `ConfigError` (one line naming the flag, the value and what is valid); the CLI's top-level
 * handler prints it and exits non-zero.
 */
import { ConfigError, splitCommaList, type ValueSource } from '@gp/core';
import {
  DEFAULT_APP_NAME,
  DEFAULT_KERNEL_CLUSTER_ROLE,
  NAMESPACE_MODES,
  TEMPLATE_RESOURCES,
  rbacManifests,
  toJson,
  toYaml,
  type PolicyRule,
  type RbacOptions,
} from '@gp/rbac';
import type { Argv, CommandModule } from 'yargs';

export const RBAC_OUTPUTS = ['yaml', 'json'] as const;

export interface RbacArgs {
  appName: string;
  namespace: string;
  serviceAccount?: string;
  modes: string[];
  byoNamespace: string[];
  sparkOperator: boolean;
  kernelClusterRole: string;
  kernelServiceAccount?: string;
  templateResources: string[];
  extraRule: string[];
  /** `kubernetes`: the replicated gp-gateway's state Role (kernel-record Secrets, Leases). */
  kernelStore?: string;
  output: string;
}

/** Which flag sets each library option (for error messages). */
const FLAG_OF: Record<keyof RbacOptions, string> = {
  appName: 'app-name',
  namespace: 'namespace',
  serviceAccountName: 'service-account',
  applicationRoleName: 'app-name',
  modes: 'modes',
  byoNamespaces: 'byo-namespace',
  sparkOperator: 'spark-operator',
  kernelClusterRole: 'kernel-cluster-role',
  kernelServiceAccount: 'kernel-service-account',
  templateResources: 'template-resources',
  extraRules: 'extra-rule',
  kernelStore: 'kernel-store',
  source: 'source',
};

const flag = (name: string): ValueSource => ({ kind: 'flag', name });

/** `--modes shared,auto`, `--modes shared --modes auto` and `--modes shared auto` all give [shared, auto]. */
function commaList(values: unknown): string[] {
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return splitCommaList(list.map(String));
}

/** Turns parsed arguments into library options; throws ConfigError for what only the CLI can check. */
export function rbacOptionsFromArgs(args: Omit<RbacArgs, 'output'>): RbacOptions {
  const extraRules = args.extraRule.map((text): PolicyRule => {
    try {
      return JSON.parse(text) as PolicyRule;
    } catch {
      throw new ConfigError('extraRules', flag('extra-rule'), text, 'a JSON rule object such as {"apiGroups":[""],"resources":["pods/log"],"verbs":["get"]}');
    }
  });
  return {
    appName: args.appName,
    namespace: args.namespace,
    ...(args.serviceAccount !== undefined ? { serviceAccountName: args.serviceAccount } : {}),
    modes: args.modes as RbacOptions['modes'],
    byoNamespaces: args.byoNamespace,
    sparkOperator: args.sparkOperator,
    kernelClusterRole: args.kernelClusterRole,
    ...(args.kernelServiceAccount !== undefined ? { kernelServiceAccount: args.kernelServiceAccount } : {}),
    templateResources: args.templateResources as RbacOptions['templateResources'],
    extraRules,
    ...(args.kernelStore !== undefined ? { kernelStore: args.kernelStore as RbacOptions['kernelStore'] } : {}),
    source: (option) => flag(FLAG_OF[option]),
  };
}

/** The manifests text for parsed arguments (validates everything first; prints nothing). */
export function renderRbac(args: RbacArgs): string {
  if (!(RBAC_OUTPUTS as readonly string[]).includes(args.output)) {
    throw new ConfigError('output', flag('output'), args.output, RBAC_OUTPUTS.join(' or '));
  }
  const objects = rbacManifests(rbacOptionsFromArgs(args));
  return args.output === 'json' ? toJson(objects) : toYaml(objects);
}

export interface RbacCommandIo {
  /** Receives the whole output at once, only after validation succeeded. */
  write(text: string): void;
}

const stdoutIo: RbacCommandIo = { write: (text) => void process.stdout.write(text) };

export function createRbacCommand(io: RbacCommandIo = stdoutIo): CommandModule {
  return {
    command: 'rbac',
    describe: 'Print the least-privilege RBAC manifests a gp host application and its kernels need (for kubectl apply -f -).',
    builder: (yargs: Argv) =>
      yargs
        .option('app-name', {
          type: 'string',
          default: DEFAULT_APP_NAME,
          describe: 'Application name (GP_APP_NAME): labels, and the default ServiceAccount and role names.',
        })
        .option('namespace', {
          alias: 'n',
          type: 'string',
          default: 'default',
          describe: "The application's namespace (GP_NAMESPACE), where its ServiceAccount lives.",
        })
        .option('service-account', {
          type: 'string',
          describe: "The application's ServiceAccount name. Default: the app name.",
        })
        .option('modes', {
          type: 'string',
          array: true,
          default: ['shared'],
          coerce: commaList,
          describe: `Namespace modes to support, comma-separated or repeated: ${NAMESPACE_MODES.join(', ')} (aliases bring-your-own, automatic).`,
        })
        .option('byo-namespace', {
          type: 'string',
          array: true,
          default: [],
          coerce: commaList,
          describe: 'With --modes byo: the only namespaces kernels may use (RoleBindings there instead of cluster-wide rights).',
        })
        .option('spark-operator', {
          type: 'boolean',
          default: false,
          describe: 'Grant the SparkApplication rules (Spark Operator kernels).',
        })
        .option('kernel-cluster-role', {
          type: 'string',
          default: DEFAULT_KERNEL_CLUSTER_ROLE,
          describe: "The kernel ClusterRole's name (GP_KERNEL_CLUSTER_ROLE), bound only inside kernel namespaces.",
        })
        .option('kernel-service-account', {
          type: 'string',
          describe: 'Create this kernel ServiceAccount in the shared and listed BYO namespaces and bind the kernel role to it.',
        })
        .option('template-resources', {
          type: 'string',
          array: true,
          default: [],
          coerce: commaList,
          describe: `Extra resources your pod templates create, comma-separated: ${TEMPLATE_RESOURCES.join(', ')}.`,
        })
        .option('extra-rule', {
          type: 'string',
          array: true,
          default: [],
          describe: 'An extra rule for the application role, as JSON (repeatable; no "*" wildcards).',
        })
        .option('kernel-store', {
          type: 'string',
          describe: "gp-gateway's --kernel-store: `kubernetes` adds the state Role (kernel-record Secrets, replica Leases) in --namespace; default file (nothing added).",
        })
        .option('output', {
          alias: 'o',
          type: 'string',
          default: 'yaml',
          describe: `Output format: ${RBAC_OUTPUTS.join(' or ')} (JSON is a v1 List).`,
        })
        .example('$0 rbac --namespace gp --modes shared,auto | kubectl apply -f -', 'Shared and automatic namespaces')
        .example('$0 rbac --modes byo --byo-namespace team-a,team-b -o json', 'Kernels only in team-a and team-b')
        .strictOptions(),
    handler: (args) => {
      // The builder above declares exactly these options (with defaults), so yargs' camel-cased args fit.
      io.write(renderRbac(args as unknown as RbacArgs));
    },
  };
}

/** The `rbac` subcommand, writing to stdout. */
export const rbacCommand: CommandModule = createRbacCommand();
