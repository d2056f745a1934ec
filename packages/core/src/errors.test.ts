import { describe, expect, it } from 'vitest';
import { AuthorizationError, ConfigError, GpError, MAX_VALUE_TEXT, describeSource, formatValue, isGpError } from './errors.js';

describe('ConfigError', () => {
  it('says a missing value is not set, instead of quoting undefined', () => {
    const e = new ConfigError('KERNEL_LANGUAGE', { kind: 'request', name: 'KERNEL_LANGUAGE' }, undefined, 'python, r or scala');
    expect(e.message).toBe('KERNEL_LANGUAGE is not set: expected python, r or scala.');
    expect(e.message).not.toContain('undefined');
  });
  it('names the option, the source, the value and what is valid, with code and HTTP 400', () => {
    const e = new ConfigError('--port-range', { kind: 'flag', name: 'port-range' }, 'abc', 'LOW..HIGH');
    expect(e.message).toBe('Invalid value "abc" for --port-range (from command-line flag --port-range): expected LOW..HIGH.');
    expect([e.code, e.httpStatus, e.name]).toEqual(['GP_INVALID_CONFIG', 400, 'ConfigError']);
    expect(e.toJSON().details).toMatchObject({ option: '--port-range', value: 'abc', expected: 'LOW..HIGH' });
    expect(isGpError(e)).toBe(true);
  });

  it('keeps a value with newlines on one line (one stderr line per failure)', () => {
    const e = new ConfigError('kernel_name', { kind: 'env', name: 'X' }, 'a\nb', 'a name');
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toContain('"a\\nb"');
  });

  it('describes a self-referencing value (a YAML alias loop in a config file) instead of throwing', () => {
    const loop: unknown[] = [];
    loop.push(loop);
    const e = new ConfigError('port_range', { kind: 'file', path: '/etc/c.yaml' }, loop, 'LOW..HIGH');
    expect(e.message).toBe('Invalid value [a self-referencing list] for port_range (from config file /etc/c.yaml): expected LOW..HIGH.');
    // Hosts send details in error bodies: they must serialise.
    expect(JSON.parse(JSON.stringify(e)).details.value).toBe('[a self-referencing list]');
    const map: Record<string, unknown> = {};
    map.self = map;
    expect(new ConfigError('x', { kind: 'default' }, map, 'y').message).toContain('[a self-referencing mapping]');
    expect(new ConfigError('x', { kind: 'default' }, 10n, 'y').message).toContain('Invalid value 10 for x');
  });

  it('cuts long values and says how long they were', () => {
    const long = 'x'.repeat(5000);
    const e = new ConfigError('image_name', { kind: 'env', name: 'GP_IMAGE_NAME' }, long, 'an image');
    expect(e.message).toContain(`... (5002 characters)`);
    expect(e.message.length).toBeLessThan(MAX_VALUE_TEXT + 200);
    expect(formatValue(undefined)).toBe('undefined');
    expect(formatValue(['a', 1])).toBe('["a",1]');
  });
});

describe('other errors', () => {
  it('AuthorizationError answers 403; GpError defaults to 500 and keeps cause and details', () => {
    expect(new AuthorizationError('GP_USER_NOT_AUTHORIZED', 'no').httpStatus).toBe(403);
    const cause = new Error('root cause');
    const e = new GpError('GP_X', 'failed', { cause, details: { a: 1 } });
    expect([e.httpStatus, e.cause, e.details]).toEqual([500, cause, { a: 1 }]);
    expect(isGpError(new Error('plain'))).toBe(false);
  });

  it('describes every value source', () => {
    expect(describeSource({ kind: 'default' })).toBe('the built-in default');
    expect(describeSource({ kind: 'kernelspec', path: 'metadata.x' })).toBe('kernelspec metadata.x');
    expect(describeSource({ kind: 'request', name: 'KERNEL_UID' })).toBe('request variable KERNEL_UID');
  });
});
