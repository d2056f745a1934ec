import { describe, expect, it } from 'vitest';
import { parseFlags } from './argv.js';
import { defineOption, defineOptions } from './options.js';
import { authorizedUsersOption, portRangeOption } from './shared.js';

const table = defineOptions({
  port_range: portRangeOption,
  authorized_users: authorizedUsersOption,
  verbose: defineOption<boolean>({ name: 'verbose', kind: 'bool', section: 'App', help: 'more', default: false }),
});

describe('parseFlags', () => {
  it('reads --flag=value, --flag value, a bare boolean, repeated lists and --help', () => {
    const parsed = parseFlags(table, ['--port-range=40000..41000', '--authorized-users', 'alice', '--verbose', '--authorized-users=bob', '-h']);
    expect(parsed).toEqual({
      help: true,
      extra: {},
      flags: {
        port_range: { value: '40000..41000', flag: 'port-range' },
        authorized_users: { value: 'alice,bob', flag: 'authorized-users' },
        verbose: { value: 'true', flag: 'verbose' },
      },
    });
  });

  it('takes a section prefix and extra flags when asked', () => {
    const parsed = parseFlags(table, ['--App.port_range=1..2000', '--config', '/etc/x.yaml'], { section: 'App', extraFlags: ['config'] });
    expect(parsed.flags.port_range).toEqual({ value: '1..2000', flag: 'port-range' });
    expect(parsed.extra).toEqual({ config: '/etc/x.yaml' });
  });

  it('names the valid flags for an unknown flag or a word, and says a value is missing', () => {
    expect(() => parseFlags(table, ['--nope=1'])).toThrow(/Invalid value "1" for --nope .*expected a known flag: --port-range, --authorized-users, --verbose, --help/);
    expect(() => parseFlags(table, ['start'])).toThrow(/"start" for start .*a known flag/);
    expect(() => parseFlags(table, ['--port-range'])).toThrow(/--port-range is not set: expected a value \(<LOW\.\.HIGH>\)/);
  });
});
