import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Manifest } from './manifests.js';
import { shellQuote, sparkConfs, sparkSubmitOptions } from './spark.js';

function pod(resources: Record<string, Record<string, string>>): Manifest {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources }] } };
}

describe('spark options', () => {
  it('always sets the pod templates', () => {
    expect(sparkSubmitOptions(pod({}), '/tmp/kpt_1/pod.yaml')).toBe(
      '--conf spark.kubernetes.driver.podTemplateFile=/tmp/kpt_1/pod.yaml --conf spark.kubernetes.executor.podTemplateFile=/tmp/kpt_1/pod.yaml --conf spark.kubernetes.driver.pod.name=p',
    );
  });
  it('names the driver pod as the kernel pod (the provisioner follows it by that name)', () => {
    expect(Object.fromEntries(sparkConfs(pod({}), 'f'))['spark.kubernetes.driver.pod.name']).toBe('p');
  });
  it('maps 500m to one core plus a fractional core request', () => {
    const c = Object.fromEntries(sparkConfs(pod({ requests: { cpu: '500m' } }), 'f'));
    expect(c['spark.driver.cores']).toBe('1');
    expect(c['spark.executor.cores']).toBe('1');
    expect(c['spark.kubernetes.driver.request.cores']).toBe('500m');
    expect(c['spark.kubernetes.executor.request.cores']).toBe('500m');
  });
  it('maps whole and fractional cores, limits and memory', () => {
    const c = Object.fromEntries(sparkConfs(pod({ requests: { cpu: '2', memory: '2Gi' }, limits: { cpu: '3500m', memory: '4Gi' } }), 'f'));
    expect(c['spark.driver.cores']).toBe('2');
    expect(c['spark.kubernetes.driver.request.cores']).toBeUndefined();
    expect(c['spark.kubernetes.driver.limit.cores']).toBe('3500m');
    expect(c['spark.kubernetes.executor.limit.cores']).toBe('3500m');
    expect(c['spark.driver.memory']).toBe('2048m');
    expect(c['spark.executor.memory']).toBe('2048m');
    expect(Object.fromEntries(sparkConfs(pod({ requests: { cpu: '1.5', memory: '1G' } }), 'f'))).toMatchObject({
      'spark.driver.cores': '2',
      'spark.kubernetes.driver.request.cores': '1.5',
      'spark.driver.memory': '954m',
    });
  });
  it('does not let a memory limit overwrite the request', () => {
    const c = Object.fromEntries(sparkConfs(pod({ requests: { memory: '1Gi' }, limits: { memory: '8Gi' } }), 'f'));
    expect(c['spark.driver.memory']).toBe('1024m');
  });
  it('quotes safely for the shell', () => {
    const file = "/tmp/it's here/$(touch x)/pod.yaml";
    const line = sparkSubmitOptions(pod({}), file);
    // the line is parsed by the shell (run.sh evals it): it must give back exactly these words
    const words = execFileSync('sh', ['-c', `set -- ${line}; for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(words).toEqual([
      '--conf',
      `spark.kubernetes.driver.podTemplateFile=${file}`,
      '--conf',
      `spark.kubernetes.executor.podTemplateFile=${file}`,
      '--conf',
      'spark.kubernetes.driver.pod.name=p',
    ]);
    expect(shellQuote('a b')).toBe(`'a b'`);
  });
});
