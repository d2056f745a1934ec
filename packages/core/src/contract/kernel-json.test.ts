import { describe, expect, it } from 'vitest';
import { launcherKindOfScript, substituteArgv } from './kernel-json.js';

describe('substituteArgv', () => {
  it('fills {transport_encryption} as the reference does without CurveZMQ (empty), never leaving it literal', () => {
    const argv = ['python', 'launch_kubernetes.py', '--transport-encryption', '{transport_encryption}', '--kernel-id', '{kernel_id}'];
    const values = { kernel_id: 'k1', response_address: 'a:1', public_key: 'p', port_range: '0..0' };
    expect(substituteArgv(argv, values)).toEqual(['python', 'launch_kubernetes.py', '--transport-encryption', '', '--kernel-id', 'k1']);
    expect(substituteArgv(argv, { ...values, transport_encryption: 'auto' })[3]).toBe('auto');
  });
  it('substitutes the reference placeholders and leaves others', () => {
    const argv = ['python', 'launch.py', '--kernel-id', '{kernel_id}', '--response-address', '{response_address}', '--public-key', '{public_key}', '--port-range', '{port_range}', '--x', '{connection_file}', '{resource_dir}/a'];
    expect(substituteArgv(argv, { kernel_id: 'k1', response_address: '10.0.0.1:8877', public_key: 'KEY', port_range: '0..0', resource_dir: '/specs/k' })).toEqual([
      'python', 'launch.py', '--kernel-id', 'k1', '--response-address', '10.0.0.1:8877', '--public-key', 'KEY', '--port-range', '0..0', '--x', '{connection_file}', '/specs/k/a',
    ]);
  });

  it('keeps {resource_dir} when the directory is unknown', () => {
    expect(substituteArgv(['{resource_dir}'], { kernel_id: 'k', response_address: 'a:1', public_key: 'p', port_range: '0..0' })).toEqual(['{resource_dir}']);
  });
});

describe('launcherKindOfScript', () => {
  it("names gp's launch scripts by the kind of object each creates, and nothing else", () => {
    expect(launcherKindOfScript('launch_kubernetes.mjs')).toBe('kubernetes');
    expect(launcherKindOfScript('launch_custom_resource.mjs')).toBe('custom_resource');
    expect(launcherKindOfScript('launch_kubernetes.py')).toBeUndefined();
  });
});
