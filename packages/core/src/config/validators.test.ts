import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  normalizeKernelName,
  parseBoolean,
  parseInteger,
  parseLanguage,
  splitCommaList,
  parseLaunchTimeout,
  parseLogLevel,
  parsePortRange,
  parsePythonClassName,
  parseUserList,
  portRangeToString,
  kernelJsonLanguage,
  minPortRangeSize,
} from './validators.js';

describe('parsePortRange', () => {
  it('accepts a range of at least 1000 ports inside 1024..65535', () => {
    expect(parsePortRange('40000..41000')).toEqual({ lower: 40000, upper: 41000, disabled: false });
    expect(parsePortRange('1024..65535')).toMatchObject({ lower: 1024, upper: 65535 });
  });
  it('treats 0..0 and other zero-size ranges as disabled', () => {
    expect(parsePortRange('0..0')).toEqual({ lower: 0, upper: 0, disabled: true });
    expect(portRangeToString(parsePortRange('33245..33245'))).toBe('0..0');
  });
  it.each(['abc', '1..2', '40000..40999', '1000..3000', '60000..70000', '41000..40000', '40000-41000', '', '40000..'])(
    'rejects %j naming option, source and what is valid',
    (raw) => {
      const err = (() => {
        try {
          parsePortRange(raw, { option: '--port-range', source: { kind: 'flag', name: 'port-range' } });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('--port-range');
      expect(msg).toContain('command-line flag --port-range');
      expect(msg).toContain(JSON.stringify(raw));
      expect(msg).toContain('1024..65535');
      expect(msg).toContain('0..0');
    },
  );
  it('honours a custom minimum size', () => {
    expect(parsePortRange('40000..40100', { minSize: 100 }).disabled).toBe(false);
    expect(() => parsePortRange('40000..40099', { minSize: 100 })).toThrow(/HIGH - LOW >= 100/);
  });
});

describe('minPortRangeSize', () => {
  it('is GP_MIN_PORT_RANGE_SIZE when set, else 1000', () => {
    expect(minPortRangeSize({})).toBe(1000);
    expect(minPortRangeSize({ GP_MIN_PORT_RANGE_SIZE: ' ' })).toBe(1000);
    expect(minPortRangeSize({ GP_MIN_PORT_RANGE_SIZE: '250' })).toBe(250);
    expect(() => minPortRangeSize({ GP_MIN_PORT_RANGE_SIZE: '-1' })).toThrow(ConfigError);
  });
});

describe('parseLanguage', () => {
  it('matches case-insensitively onto the canonical spelling', () => {
    expect(parseLanguage('python')).toBe('Python');
    expect(parseLanguage('r')).toBe('R');
    expect(parseLanguage('SCALA')).toBe('Scala');
    expect(kernelJsonLanguage('Scala')).toBe('scala');
    expect(kernelJsonLanguage('R')).toBe('R');
  });
  it('rejects unknown languages listing the valid ones', () => {
    expect(() => parseLanguage('julia', 'language', { kind: 'env', name: 'X' })).toThrow(
      /"julia" for language \(from environment variable X\): expected one of Python, R, Scala/,
    );
  });
});

describe('parseUserList', () => {
  it('splits commas, trims, drops empties and duplicates, keeps order', () => {
    expect(parseUserList(' bob, alice,,bob ')).toEqual(['bob', 'alice']);
    expect(parseUserList(['a,b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(parseUserList('')).toEqual([]);
  });
  it('rejects names with whitespace and non-strings', () => {
    expect(() => parseUserList('bob smith')).toThrow(ConfigError);
    expect(() => parseUserList([1])).toThrow(ConfigError);
    expect(() => parseUserList(42)).toThrow(ConfigError);
  });
  it('refuses bracketed or quoted lists instead of reading "[root" as a name (the env vars are non-bracketed)', () => {
    const source = { kind: 'env' as const, name: 'GP_UNAUTHORIZED_USERS' };
    for (const raw of ['[root]', "['root', 'admin']", '["root"]', '{root}', "'root'"]) {
      expect(() => parseUserList(raw, 'GP_UNAUTHORIZED_USERS', source)).toThrow(
        /for GP_UNAUTHORIZED_USERS \(from environment variable GP_UNAUTHORIZED_USERS\): expected a comma-separated list .*without whitespace, brackets or quotes/,
      );
    }
    // A YAML/JSON list from a config file is an array, which is fine.
    expect(parseUserList(['root', 'admin'])).toEqual(['root', 'admin']);
    expect(parseUserList('root,admin')).toEqual(['root', 'admin']);
  });
});

describe('scalars', () => {
  it('parses booleans from words', () => {
    expect(parseBoolean('True')).toBe(true);
    expect(parseBoolean('off')).toBe(false);
    expect(() => parseBoolean('maybe')).toThrow(/a boolean/);
  });
  it('parses integers and launch timeouts', () => {
    expect(parseInteger(' 42 ')).toBe(42);
    expect(parseLaunchTimeout('30')).toBe(30);
    expect(parseLaunchTimeout(5)).toBe(5);
    expect(() => parseLaunchTimeout('0')).toThrow(/an integer greater than 0/);
    expect(() => parseLaunchTimeout('-3')).toThrow(ConfigError);
    expect(() => parseLaunchTimeout('1.5')).toThrow(ConfigError);
    expect(() => parseLaunchTimeout('soon')).toThrow(ConfigError);
  });
  it('parses log levels by number and name', () => {
    expect(parseLogLevel('10')).toBe('debug');
    expect(parseLogLevel(20)).toBe('info');
    expect(parseLogLevel('warning')).toBe('warn');
    expect(parseLogLevel('CRITICAL')).toBe('critical');
    expect(() => parseLogLevel('loud')).toThrow(/one of 0, 10, 20, 30, 40, 50, DEBUG/);
    expect(() => parseLogLevel('15')).toThrow(ConfigError);
  });
});

describe('kernel names and class names', () => {
  it('normalises like Jupyter and validates', () => {
    expect(normalizeKernelName('My Kernel')).toBe('my_kernel');
    expect(normalizeKernelName('k8s_python.v2-a')).toBe('k8s_python.v2-a');
    expect(() => normalizeKernelName('bad*name')).toThrow(/\^\[a-z0-9\._-\]\+\$/);
    expect(() => normalizeKernelName('a/b')).toThrow(ConfigError);
    expect(() => normalizeKernelName('..')).toThrow(ConfigError);
    expect(() => normalizeKernelName('')).toThrow(ConfigError);
  });
  it('checks python class paths', () => {
    expect(parsePythonClassName('my.kernels.K')).toBe('my.kernels.K');
    expect(() => parsePythonClassName('NoModule')).toThrow(ConfigError);
    expect(() => parsePythonClassName('a.b c')).toThrow(ConfigError);
  });
});

describe('usernames and the user lists', () => {
  it('refuses surrounding whitespace and control or invisible characters, naming KERNEL_USERNAME', async () => {
    const { validateUsername } = await import('./validators.js');
    for (const bad of [' root', 'root ', 'root\n', 'ro\u0000ot', 'ro\u200bot', '\u202eroot', '', '   ']) {
      expect(() => validateUsername(bad)).toThrow(/KERNEL_USERNAME/);
    }
    expect(validateUsername('john doe')).toBe('john doe');
    expect(validateUsername('alice')).toBe('alice');
  });
  it('compares case-insensitively after NFKC normalization', async () => {
    const { userListIncludes } = await import('./validators.js');
    expect(userListIncludes(['root'], 'Root')).toBe(true);
    expect(userListIncludes(['root'], 'ＲＯＯＴ')).toBe(true);
    expect(userListIncludes(['Alice'], 'alice')).toBe(true);
    expect(userListIncludes(['root'], 'rooty')).toBe(false);
  });
});

describe('splitCommaList', () => {
  it('cuts at commas, trims each item and drops empty ones, for a string or each of several strings', () => {
    expect(splitCommaList(' a, b ,,c ,')).toEqual(['a', 'b', 'c']);
    expect(splitCommaList(['a,b', ' c ', ''])).toEqual(['a', 'b', 'c']);
    expect(splitCommaList('')).toEqual([]);
  });
});
