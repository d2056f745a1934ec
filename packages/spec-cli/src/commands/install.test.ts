import { ConfigError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { flagValues, installHelp, normalizeInstallArgs } from './install.js';

describe('normalizeInstallArgs', () => {
  it('maps --Class.option forms onto flags, following section inheritance', () => {
    expect(normalizeInstallArgs(['--K8sSpecInstaller.spark=True', '--BaseSpecApp.port_range=40000..41000', '--K8sSpecInstaller.launch_timeout', '9'])).toEqual([
      '--spark',
      '--port-range=40000..41000',
      '--launch-timeout=9',
    ]);
    expect(normalizeInstallArgs(['--spark=false', '--user=yes', '--language=R'])).toEqual(['--no-spark', '--user', '--language=R']);
    expect(normalizeInstallArgs(['--JupyterApp.config_file=/c.json'])).toEqual(['--config=/c.json']);
  });
  it('rejects unknown class options and bad booleans', () => {
    expect(() => normalizeInstallArgs(['--K8sSpecInstaller.nope=1'])).toThrow(ConfigError);
    expect(() => normalizeInstallArgs(['--Application.spark=True'])).toThrow(/--Application\.spark/);
    expect(() => normalizeInstallArgs(['--spark=maybe'])).toThrow(/a boolean/);
  });
});

describe('flagValues', () => {
  it('keeps the last scalar, all list items, and applies --debug', () => {
    const f = flagValues({ 'kernel-name': ['a', 'b'], 'authorized-users': ['x', 'y'], debug: true, spark: false, 'log-level': 'ERROR' });
    expect(f.kernel_name).toEqual({ value: 'b', flag: 'kernel-name' });
    expect(f.authorized_users).toEqual({ value: ['x', 'y'], flag: 'authorized-users' });
    expect(f.spark).toEqual({ value: false, flag: 'spark' });
    expect(f.log_level).toEqual({ value: 'DEBUG', flag: 'debug' });
    expect(f.port_range).toBeUndefined();
  });
});

describe('install help', () => {
  const help = installHelp(false);
  it('lists every flag of the spec listing, in its order, with env vars and defaults', () => {
    const flags = [...help.matchAll(/^--([a-z][a-z-]*)/gm)].map((m) => m[1]);
    expect(flags).toEqual([
      'spark', 'user', 'replace', 'sys-prefix', 'debug', 'tensorflow', 'crd', 'image-name', 'executor-image-name', 'spark-home',
      'spark-init-mode', 'extra-spark-opts', 'prefix', 'kernel-name', 'display-name', 'language', 'authorized-users',
      'unauthorized-users', 'port-range', 'launch-timeout', 'ipykernel-subclass-name', 'log-level', 'config',
    ]);
    for (const env of ['GP_IMAGE_NAME', 'GP_EXECUTOR_IMAGE_NAME', 'GP_AUTHORIZED_USERS', 'GP_UNAUTHORIZED_USERS', 'GP_PORT_RANGE', 'GP_LAUNCH_TIMEOUT']) {
      expect(help).toContain(`${env}`);
    }
    expect(help).toMatch(/^Creates a Jupyter kernel specification for use within a Kubernetes cluster\.\n\nOptions\n=======\n/);
    expect(help).toContain("--port-range=<LOW..HIGH>\n");
    expect(help).toContain('    Default: 0..0\n    Equivalent to: [--RemoteProvisionerConfigMixin.port_range]');
    expect(help).toContain('    Equivalent to: [--K8sSpecInstaller.spark=True]');
    expect(help).toContain("    Default: '/opt/spark'");
    expect(help).toContain('Choices: any of [0, 10, 20, 30, 40, 50, DEBUG, INFO, WARN, ERROR, CRITICAL]');
    expect(help).toContain('Examples\n--------\n\n    jupyter-k8s-spec install --language=R --kernel-name=r_k8s');
    expect(help).toContain('To see all available configurables, use `--help-all`.');
    expect(help).not.toContain('Number of ports to try');
    expect(help).toMatch(/--launch-timeout=<Int>\n    Number of seconds to wait/);
    expect(help).toContain('jupyter_k8s_spec_config');
    // The spec's wording for the user-list env vars (brackets are refused), and the other env vars gp reads.
    expect(help).toMatch(/\(GP_AUTHORIZED_USERS env var -\s+non-bracketed,\s+just\s+comma-separated\)/);
    expect(help).toMatch(/\(GP_UNAUTHORIZED_USERS env var -\s+non-bracketed,\s+just\s+comma-separated\)/);
    expect(help).toMatch(/GP_MIN_PORT_RANGE_SIZE/);
    expect(help).toMatch(/\(SPARK_HOME env var\)/);
    expect(help.split('\n').every((l) => l.length <= 80 || l.startsWith('    jupyter-k8s-spec'))).toBe(true);
  });
  it('--help-all adds the per-section listing', () => {
    const all = installHelp(true);
    expect(all).toContain('Class options\n=============');
    expect(all).toContain('K8sSpecInstaller(BaseSpecSparkApp) options\n------------------------------------------\n');
    expect(all).toContain('--RemoteProvisionerConfigMixin.port_range=<LOW..HIGH>');
    expect(all).toContain('--BaseSpecSparkApp.spark_init_mode=<lazy|eager|none>');
    expect(all).toContain('--Application.log_level=<Enum>');
    expect(all).not.toContain('To see all available configurables');
  });
});

describe('values that start with a dash', () => {
  it('a value option takes the next argument unless it is one of our options', () => {
    expect(normalizeInstallArgs(['--extra-spark-opts', '--conf x.y=1', '--spark'])).toEqual(['--extra-spark-opts=--conf x.y=1', '--spark']);
    expect(normalizeInstallArgs(['--display-name', '--spark'])).toEqual(['--display-name', '--spark']);
    expect(normalizeInstallArgs(['--kernel-name', 'k', '--no-spark'])).toEqual(['--kernel-name', 'k', '--no-spark']);
  });
});
