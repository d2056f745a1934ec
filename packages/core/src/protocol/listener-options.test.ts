import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { responseListenerOptionsFromEnv } from './listener.js';
import { RESPONSE_LISTENER_OPTIONS, responseListenerEnvMarkdown } from './listener-options.js';

describe('response listener options', () => {
  it('the README table is the one generated from the definitions', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    expect(readme).toContain(`${responseListenerEnvMarkdown()}\n`);
    expect(RESPONSE_LISTENER_OPTIONS.list).toHaveLength(13);
  });

  it("reads booleans and integers with core's rules (y/n are booleans, an empty variable is unset)", () => {
    expect(responseListenerOptionsFromEnv({ GP_RESPONSE_ADDR_ANY: 'y', GP_RESPONSE_ALLOW_LEGACY: 'n' })).toEqual({
      addrAny: true,
      allowLegacyV0: false,
    });
    expect(responseListenerOptionsFromEnv({ GP_RESPONSE_PORT: '', GP_RESPONSE_ADDR_ANY: '', GP_RESPONSE_IP: '  ' })).toEqual({});
    expect(responseListenerOptionsFromEnv({ GP_RESPONSE_READ_TIMEOUT: '3', GP_RESPONSE_IDLE_TIMEOUT: '1' })).toEqual({
      readTimeoutMs: 3000,
      idleTimeoutMs: 1000,
    });
  });

  it.each([
    ['GP_RESPONSE_MAX_BYTES', '1023'],
    ['GP_RESPONSE_READ_TIMEOUT', '0'],
    ['GP_RESPONSE_MAX_PER_SOURCE', '1.5'],
  ])('refuses %s=%s with a ConfigError naming the variable and the valid range', (name, value) => {
    let err: unknown;
    try {
      responseListenerOptionsFromEnv({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toMatch(/an integer in \d+\.\.\d+/);
  });
});
