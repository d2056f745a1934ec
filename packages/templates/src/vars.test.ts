import { ConfigError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { kernelTemplateVars, TemplateVariableError } from './index.js';

describe('kernelTemplateVars', () => {
  it('lowercases every KERNEL_* variable, keeps values as strings, and ignores the rest', () => {
    expect(kernelTemplateVars({ KERNEL_CPUS: '2', KERNEL_UID: '1000', KERNEL_FLAG: 'yes', KERNEL_EMPTY: '', PATH: '/bin', KERNEL_UNSET: undefined, kernel_lower: 'x' })).toEqual({
      kernel_cpus: '2',
      kernel_uid: '1000',
      kernel_flag: 'yes',
      kernel_empty: '',
    });
  });

  it('parses KERNEL_VOLUMES and KERNEL_VOLUME_MOUNTS from JSON, YAML flow and YAML block', () => {
    const expected = [{ name: 'data', mountPath: '/data', readOnly: true }];
    for (const text of ['[{"name": "data", "mountPath": "/data", "readOnly": true}]', '[{name: data, mountPath: /data, readOnly: true}]', '- name: data\n  mountPath: /data\n  readOnly: true\n']) {
      expect(kernelTemplateVars({ KERNEL_VOLUME_MOUNTS: text, KERNEL_VOLUMES: text })).toEqual({ kernel_volume_mounts: expected, kernel_volumes: expected });
    }
    expect(kernelTemplateVars({ KERNEL_VOLUMES: '  ' })).toEqual({ kernel_volumes: [] });
    // YAML 1.1, as the reference's yaml.safe_load: `yes` is a boolean.
    expect(kernelTemplateVars({ KERNEL_VOLUMES: '[{name: a, readOnly: yes}]' }).kernel_volumes).toEqual([{ name: 'a', readOnly: true }]);
  });

  it('refuses anything but a list of objects, naming the variable', () => {
    const bad: [string, RegExp][] = [
      ['{"name": "x"}', /list of objects/],
      ['"x"', /list of objects/],
      ['7', /list of objects/],
      ['[1]', /entry 0 is number/],
      ['[{"a": 1}, null]', /entry 1 is null/],
      ['[[{"a": 1}]]', /entry 0 is a list/],
      ['[{a: 1', /list of objects/],
      ['[{a: 1, a: 2}]', /list of objects/],
      ['- &x {a: 1}\n- *x', /list of objects/],
      ['- !!python/object:os.system {}', /list of objects/],
      ['- {a: 2001-01-01}', /plain data/],
    ];
    for (const [text, message] of bad) {
      let caught: unknown;
      try {
        kernelTemplateVars({ KERNEL_VOLUMES: text });
      } catch (error) {
        caught = error;
      }
      expect(caught, text).toBeInstanceOf(TemplateVariableError);
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message, text).toMatch(message);
      expect((caught as Error).message).toContain('kernel_volumes (from request variable KERNEL_VOLUMES)');
      expect((caught as ConfigError).httpStatus).toBe(400);
    }
  });
});
