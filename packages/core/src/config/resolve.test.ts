import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { configSearchPath, findDefaultConfigFile, loadConfigFile } from './file.js';
import { defineOption, defineOptions } from './options.js';
import { resolveConfig } from './resolve.js';
import { authorizedUsersOption, launchTimeoutOption, logLevelOption, portRangeOption } from './shared.js';

const table = defineOptions(
  {
    port_range: portRangeOption,
    launch_timeout: launchTimeoutOption,
    authorized_users: authorizedUsersOption,
    log_level: logLevelOption,
    kernel_name: defineOption<string>({ name: 'kernel_name', kind: 'string', section: 'BaseSpecApp', help: 'name', default: '' }),
    spark: defineOption<boolean>({ name: 'spark', kind: 'bool', section: 'BaseSpecSparkApp', help: 'spark', default: false }),
  },
  { parents: { K8sSpecInstaller: ['BaseSpecSparkApp'], BaseSpecSparkApp: ['BaseSpecApp'], BaseSpecApp: ['RemoteProvisionerConfigMixin'] } },
);

describe('GP_MIN_PORT_RANGE_SIZE', () => {
  const flags = { port_range: { value: '40000..40100', flag: 'port-range' } };
  it('lowers (or raises) the smallest port range a flag, env var or config file may give', () => {
    expect(() => resolveConfig(table, { flags, env: {} })).toThrow(/"40000\.\.40100" for --port-range .*HIGH - LOW >= 1000/);
    expect(resolveConfig(table, { flags, env: { GP_MIN_PORT_RANGE_SIZE: '100' } }).values.port_range).toMatchObject({ lower: 40000, upper: 40100 });
    const file = { path: '/etc/x.json', data: { port_range: '40000..41000' } };
    expect(() => resolveConfig(table, { file, env: { GP_MIN_PORT_RANGE_SIZE: '5000' } })).toThrow(/for port_range \(from config file \/etc\/x\.json\): .*HIGH - LOW >= 5000/);
  });
  it('a bad GP_MIN_PORT_RANGE_SIZE is an error naming it, not the default', () => {
    for (const bad of ['abc', '0', '70000']) {
      expect(() => resolveConfig(table, { flags, env: { GP_MIN_PORT_RANGE_SIZE: bad } })).toThrow(
        /for GP_MIN_PORT_RANGE_SIZE \(from environment variable GP_MIN_PORT_RANGE_SIZE\): expected an integer in 1\.\.64511/,
      );
    }
    // Without a port range to check, the setting is not read.
    expect(resolveConfig(table, { env: { GP_MIN_PORT_RANGE_SIZE: 'abc' } }).values.port_range.disabled).toBe(true);
  });
});

describe('resolveConfig precedence', () => {
  const file = { path: '/etc/x.json', data: { port_range: '40000..41000', launch_timeout: 10, kernel_name: 'from_file' } };
  it('uses defaults when nothing is given', () => {
    const r = resolveConfig(table);
    expect(r.values.port_range.disabled).toBe(true);
    expect(r.values.launch_timeout).toBe(30);
    expect(r.values.log_level).toBe('info');
    expect(r.sources.launch_timeout).toEqual({ kind: 'default' });
    expect(r.isSet('launch_timeout')).toBe(false);
  });
  it('file < env < flag', () => {
    const env = { GP_LAUNCH_TIMEOUT: '20', GP_PORT_RANGE: '50000..51000' };
    const r = resolveConfig(table, { file, env, flags: { port_range: { value: '60000..61000', flag: 'port-range' } } });
    expect(r.values.port_range).toMatchObject({ lower: 60000, upper: 61000 });
    expect(r.sources.port_range).toEqual({ kind: 'flag', name: 'port-range' });
    expect(r.values.launch_timeout).toBe(20);
    expect(r.sources.launch_timeout).toEqual({ kind: 'env', name: 'GP_LAUNCH_TIMEOUT' });
    expect(r.values.kernel_name).toBe('from_file');
    expect(r.sources.kernel_name).toEqual({ kind: 'file', path: '/etc/x.json' });
    expect(r.isSet('kernel_name')).toBe(true);
  });
  it('falls back along the env list and ignores empty env values', () => {
    expect(resolveConfig(table, { env: { KERNEL_LAUNCH_TIMEOUT: '7' } }).values.launch_timeout).toBe(7);
    expect(resolveConfig(table, { env: { GP_LAUNCH_TIMEOUT: '', KERNEL_LAUNCH_TIMEOUT: '7' } }).sources.launch_timeout).toEqual({
      kind: 'env',
      name: 'KERNEL_LAUNCH_TIMEOUT',
    });
  });
  it('reads sectioned files with inheritance and kebab-case keys', () => {
    const r = resolveConfig(table, {
      file: { path: 'c.yaml', data: { K8sSpecInstaller: { 'port-range': '40000..41000', spark: true }, 'authorized-users': ['a', 'b'] } },
    });
    expect(r.values.port_range.lower).toBe(40000);
    expect(r.values.spark).toBe(true);
    expect(r.values.authorized_users).toEqual(['a', 'b']);
  });
  it('names option, source, value and expectation on bad values', () => {
    expect(() => resolveConfig(table, { env: { GP_PORT_RANGE: '1..2' } })).toThrow(
      /Invalid value "1\.\.2" for port-range \(from environment variable GP_PORT_RANGE\): expected LOW\.\.HIGH/,
    );
    expect(() => resolveConfig(table, { flags: { launch_timeout: { value: '0', flag: 'launch-timeout' } } })).toThrow(
      /"0" for --launch-timeout \(from command-line flag --launch-timeout\): expected an integer greater than 0/,
    );
    expect(() => resolveConfig(table, { file: { path: '/c.json', data: { launch_timeout: 'x' } } })).toThrow(
      /for launch_timeout \(from config file \/c\.json\)/,
    );
  });
  it('rejects unknown config-file keys unless told to ignore them', () => {
    expect(() => resolveConfig(table, { file: { path: '/c.json', data: { nope: 1 } } })).toThrow(ConfigError);
    expect(() => resolveConfig(table, { file: { path: '/c.json', data: { BaseSpecApp: { spark: true } } } })).toThrow(
      /BaseSpecApp\.spark/,
    );
    expect(resolveConfig(table, { file: { path: '/c.json', data: { nope: 1 } }, unknownFileKeys: 'ignore' }).isSet('spark')).toBe(false);
    expect(() => resolveConfig(table, { file: { path: '/c.json', data: [1] } })).toThrow(ConfigError);
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-config-'));
  it('loads JSON and YAML', async () => {
    writeFileSync(join(dir, 'a.json'), '{"port_range": "40000..41000"}');
    writeFileSync(join(dir, 'a.yaml'), 'BaseSpecApp:\n  launch_timeout: 12\n');
    expect((await loadConfigFile(join(dir, 'a.json'))).data).toEqual({ port_range: '40000..41000' });
    expect((await loadConfigFile(join(dir, 'a.yaml'))).data).toEqual({ BaseSpecApp: { launch_timeout: 12 } });
  });
  it('reports missing files, bad extensions and syntax errors with the path', async () => {
    await expect(loadConfigFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json.*no such file/);
    await expect(loadConfigFile(join(dir, 'a.toml'))).rejects.toThrow(/\.json, \.yaml or \.yml/);
    writeFileSync(join(dir, 'bad.json'), '{nope');
    await expect(loadConfigFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json.*valid JSON/);
    writeFileSync(join(dir, 'bad.yaml'), 'a: [1\n');
    await expect(loadConfigFile(join(dir, 'bad.yaml'))).rejects.toThrow(/valid YAML/);
  });
  it('finds the default file in JUPYTER_CONFIG_DIR first', () => {
    const cfg = mkdtempSync(join(tmpdir(), 'gp-jcfg-'));
    expect(findDefaultConfigFile('jupyter_k8s_spec_config', { JUPYTER_CONFIG_DIR: cfg }, '/nonexistent')).toBeUndefined();
    writeFileSync(join(cfg, 'jupyter_k8s_spec_config.yaml'), 'spark: true\n');
    expect(findDefaultConfigFile('jupyter_k8s_spec_config', { JUPYTER_CONFIG_DIR: cfg }, '/nonexistent')).toBe(
      join(cfg, 'jupyter_k8s_spec_config.yaml'),
    );
  });
});

describe('configSearchPath', () => {
  it("searches Jupyter's config path: user dir, JUPYTER_CONFIG_PATH, the active environment's etc/jupyter, system dirs", () => {
    const dirs = configSearchPath({ JUPYTER_CONFIG_DIR: '/u/cfg', JUPYTER_CONFIG_PATH: '/a:/b', VIRTUAL_ENV: '/venv', CONDA_PREFIX: '/conda' }, '/home/u');
    expect(dirs.slice(0, 4)).toEqual(['/u/cfg', '/a', '/b', '/venv/etc/jupyter']);
    expect(configSearchPath({ CONDA_PREFIX: '/conda' }, '/home/u').slice(0, 2)).toEqual(['/home/u/.jupyter', '/conda/etc/jupyter']);
    expect(configSearchPath({ JUPYTER_CONFIG_DIR: '/etc/jupyter' }, '/home/u').filter((d) => d === '/etc/jupyter')).toHaveLength(1);
  });
  it('finds a default config file installed into a virtual environment', () => {
    const venv = mkdtempSync(join(tmpdir(), 'gp-venv-'));
    mkdirSync(join(venv, 'etc', 'jupyter'), { recursive: true });
    writeFileSync(join(venv, 'etc', 'jupyter', 'jupyter_k8s_spec_config.json'), '{"spark": true}');
    const env = { JUPYTER_CONFIG_DIR: join(venv, 'nothing-here'), VIRTUAL_ENV: venv };
    expect(findDefaultConfigFile('jupyter_k8s_spec_config', env, '/nonexistent')).toBe(join(venv, 'etc', 'jupyter', 'jupyter_k8s_spec_config.json'));
  });
});
