/**
 * The extra spark-submit options `bin/run.sh` gets from the rendered kernel pod (`--spark-opts-out`): pod
 * templates for driver and executors, and the pod's cpu/memory mapped onto Spark's own settings.
 */
import { ceilQuantity, isWholeNumber, parseQuantity, toMebibytesCeil } from '@gp/core';
import { ManifestError } from './errors.js';
import type { Manifest } from './manifests.js';

/** POSIX-shell single-quoting, only when needed. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_./:=,@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function resource(pod: Manifest, kind: 'requests' | 'limits', name: string) {
  const containers = (pod.spec as { containers?: { resources?: Record<string, Record<string, unknown>> }[] } | undefined)?.containers;
  const v = containers?.[0]?.resources?.[kind]?.[name];
  if (v === undefined || v === null) return undefined;
  const text = String(v);
  const q = parseQuantity(text);
  if (!q) throw new ManifestError(`The kernel pod's ${kind}.${name} ${JSON.stringify(text)} is not a Kubernetes quantity.`, { details: { kind, name, value: text } });
  return q;
}

/** The `--conf k=v` pairs, in a stable order. */
export function sparkConfs(pod: Manifest, podTemplateFile: string): [string, string][] {
  const confs: [string, string][] = [
    ['spark.kubernetes.driver.podTemplateFile', podTemplateFile],
    ['spark.kubernetes.executor.podTemplateFile', podTemplateFile],
  ];
  // The driver pod is the kernel pod: Spark would name it <app name>-<random>-driver and ignore the template's
  // name, and the provisioner follows (and deletes) the kernel pod by the name it planned.
  const name = (pod.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name === 'string' && name !== '') confs.push(['spark.kubernetes.driver.pod.name', name]);
  const cpu = resource(pod, 'requests', 'cpu');
  if (cpu) {
    const cores = ceilQuantity(cpu);
    const whole = String(cores < 1n ? 1n : cores);
    confs.push(['spark.driver.cores', whole], ['spark.executor.cores', whole]);
    if (!isWholeNumber(cpu)) {
      confs.push(['spark.kubernetes.driver.request.cores', cpu.text], ['spark.kubernetes.executor.request.cores', cpu.text]);
    }
  }
  const cpuLimit = resource(pod, 'limits', 'cpu');
  if (cpuLimit) confs.push(['spark.kubernetes.driver.limit.cores', cpuLimit.text], ['spark.kubernetes.executor.limit.cores', cpuLimit.text]);
  const memory = resource(pod, 'requests', 'memory');
  if (memory) {
    const mib = toMebibytesCeil(memory);
    const m = `${mib < 1n ? 1n : mib}m`;
    confs.push(['spark.driver.memory', m], ['spark.executor.memory', m]);
  }
  // A memory limit has no Spark setting of its own (Spark derives the pod's limit from memory + overhead);
  // unlike the reference it never overwrites the request.
  return confs;
}

/** One line of spark-submit options, shell-quoted. */
export function sparkSubmitOptions(pod: Manifest, podTemplateFile: string): string {
  return sparkConfs(pod, podTemplateFile)
    .map(([k, v]) => `--conf ${shellQuote(`${k}=${v}`)}`)
    .join(' ');
}
