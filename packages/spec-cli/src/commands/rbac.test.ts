import { ConfigError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { rbacManifests, toYaml } from '@gp/rbac';
import yargs from 'yargs';
import { createRbacCommand, rbacCommand } from './rbac.js';

interface Run {
  stdout: string;
  error?: Error;
  help: string;
}

/** Runs `k8s-spec <args>` with only the rbac command registered, capturing what it writes. */
async function run(args: string[]): Promise<Run> {
  let stdout = '';
  let help = '';
  let error: Error | undefined;
  const cli = yargs(args)
    .scriptName('k8s-spec')
    .command(createRbacCommand({ write: (text) => void (stdout += text) }))
    .demandCommand(1)
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new Error(message);
    });
  try {
    await cli.parseAsync(args, {}, (_err: unknown, _argv: unknown, output: string) => {
      help = output;
    });
  } catch (e) {
    error = e as Error;
  }
  return { stdout, help, ...(error ? { error } : {}) };
}

/** `Kind/namespace/name` of each object in a JSON List. */
const kindsIn = (jsonText: string) =>
  (JSON.parse(jsonText) as { items: { kind: string; metadata: { name: string; namespace?: string } }[] }).items.map(
    (o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
  );

describe('k8s-spec rbac', () => {
  it('prints the shared-mode manifests as YAML by default', async () => {
    const { stdout, error } = await run(['rbac', '--namespace', 'gp']);
    expect(error).toBeUndefined();
    expect(stdout).toBe(toYaml(rbacManifests({ namespace: 'gp' })));
    expect(stdout.match(/^kind: .*$/gm)).toEqual(['kind: ServiceAccount', 'kind: Role', 'kind: RoleBinding']);
  });

  it('accepts modes comma-separated, repeated and by alias', async () => {
    const a = await run(['rbac', '--modes', 'shared,automatic', '--spark-operator', '-o', 'json']);
    const b = await run(['rbac', '--modes', 'shared', '--modes', 'auto', '--spark-operator', '-o', 'json']);
    expect(a.error).toBeUndefined();
    expect(a.stdout).toBe(b.stdout);
    expect(kindsIn(a.stdout)).toContain('ClusterRole//kernel-controller');
    expect(a.stdout).toContain('sparkapplications');
    expect(a.stdout).toMatch(/"resourceNames": \[\s*"kernel-controller"\s*\]/);
  });

  it('prints a JSON v1 List with -o json', async () => {
    const { stdout } = await run(['rbac', '-o', 'json', '--modes', 'byo', '--byo-namespace', 'team-a,team-b']);
    const list = JSON.parse(stdout) as { kind: string; items: { kind: string; metadata: { namespace?: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.filter((i) => i.kind === 'RoleBinding').map((i) => i.metadata.namespace)).toEqual(['team-a', 'team-b']);
  });

  it('passes names, template resources, the kernel service account and extra rules through', async () => {
    const { stdout, error } = await run([
      'rbac', '--app-name', 'eg', '-n', 'jupyter', '--service-account', 'eg-sa', '--kernel-cluster-role', 'eg-kernel',
      '--kernel-service-account', 'kernel', '--template-resources', 'secrets', '--extra-rule', '{"apiGroups":[""],"resources":["pods/log"],"verbs":["get"]}',
      '-o', 'json',
    ]);
    expect(error).toBeUndefined();
    expect(kindsIn(stdout)).toEqual([
      'ServiceAccount/jupyter/eg-sa',
      'ServiceAccount/jupyter/kernel',
      'ClusterRole//eg-kernel',
      'Role/jupyter/eg-controller',
      'RoleBinding/jupyter/eg-controller',
      'RoleBinding/jupyter/eg-kernel',
    ]);
    const role = (JSON.parse(stdout) as { items: { kind: string; rules?: { resources?: string[] }[] }[] }).items.find((o) => o.kind === 'Role');
    expect(role?.rules?.map((r) => r.resources?.[0])).toEqual(['pods', 'events', 'secrets', 'pods/log']);
  });

  it.each<[string, string[], RegExp]>([
    ['an unknown mode', ['--modes', 'shared,cluster'], /Invalid value "cluster" for modes \(from command-line flag --modes\): expected one of shared, byo, auto/],
    ['an unknown output', ['-o', 'toml'], /Invalid value "toml" for output \(from command-line flag --output\): expected yaml or json/],
    ['an empty app name', ['--app-name', ''], /for appName \(from command-line flag --app-name\).*DNS-1123 label/],
    ['an empty kernel role in auto mode', ['--modes', 'auto', '--kernel-cluster-role', ''], /--kernel-cluster-role.*GP_KERNEL_CLUSTER_ROLE/],
    ['cluster-admin as the kernel role', ['--modes', 'auto', '--kernel-cluster-role', 'cluster-admin'], /not the built-in ClusterRole "cluster-admin"/],
    ['BYO namespaces without byo', ['--byo-namespace', 'a'], /--byo-namespace.*unless mode "byo"/],
    ['BYO namespaces with auto', ['--modes', 'byo,auto', '--byo-namespace', 'a'], /with mode "auto"/],
    ['an extra rule that is not JSON', ['--extra-rule', '{verbs:'], /--extra-rule.*a JSON rule object/],
    ['an extra rule with a wildcard', ['--extra-rule', '{"apiGroups":["*"],"resources":["pods"],"verbs":["get"]}'], /no "\*" wildcard/],
  ])('rejects %s with one ConfigError line and prints nothing', async (_name, args, message) => {
    const { stdout, error } = await run(['rbac', ...args]);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
    expect(stdout).toBe('');
  });

  it('rejects unknown flags', async () => {
    const { stdout, error } = await run(['rbac', '--mode', 'auto']);
    expect(error?.message).toMatch(/Unknown argument: mode/);
    expect(stdout).toBe('');
  });

  it('documents every option in --help', async () => {
    const { help, stdout } = await run(['rbac', '--help']);
    for (const option of ['--app-name', '--namespace', '--service-account', '--modes', '--byo-namespace', '--spark-operator', '--kernel-cluster-role', '--kernel-service-account', '--template-resources', '--extra-rule', '--output']) {
      expect(help).toContain(option);
    }
    expect(help).toContain('shared, byo, auto');
    expect(stdout).toBe('');
  });

  it('exports rbacCommand as the `rbac` command module', () => {
    expect(rbacCommand.command).toBe('rbac');
    expect(typeof rbacCommand.handler).toBe('function');
  });
});
