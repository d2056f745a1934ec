/**
 * Spark images on the process node: an image table entry that stands for a Spark-on-Kubernetes image (its
 * entrypoint's `driver` and `executor` modes, `entrypoint.sh` here) run with a local Spark distribution and
 * Java. The distribution and Java are parameters, so other Spark versions (e.g. a separate venv's pyspark 3.5
 * for Toree) can stand for their own images.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterInfo, ImageSpec } from '../client.js';
import { repoRoot, testPython } from '../python.js';
import { HOSTS_FILE_NAME } from './hosts-file.js';

/** The Spark image stand-in's entrypoint. */
export const sparkEntrypoint: string = join(repoRoot, 'packages', 'testkit', 'src', 'spark', 'entrypoint.sh');

export interface SparkRuntime {
  /** A Spark distribution: `bin/spark-submit`, `jars/` (pyspark's package directory is one). */
  sparkHome: string;
  /** Java's home; unset: `java` on PATH. */
  javaHome?: string;
  /** The Python of the driver and the executors' Python workers (needs pyspark importable). */
  python: string;
}

/**
 * The test suite's Spark: `GP_SPARK_HOME`, else the pyspark package of `python` (default the project venv's,
 * `testPython()`); `GP_SPARK_JAVA_HOME`/`JAVA_HOME`, else `java` on PATH. Throws naming what is missing.
 */
export function sparkRuntime(options: Partial<SparkRuntime> = {}): SparkRuntime {
  const python = options.python ?? testPython();
  const sparkHome =
    options.sparkHome ??
    process.env.GP_SPARK_HOME ??
    execFileSync(python, ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'], { encoding: 'utf8' }).trim();
  if (!existsSync(join(sparkHome, 'bin', 'spark-submit'))) {
    throw new Error(`No Spark distribution at ${sparkHome} (no bin/spark-submit): install pyspark into the venv (scripts/python-env.sh) or set GP_SPARK_HOME.`);
  }
  const javaHome = options.javaHome ?? process.env.GP_SPARK_JAVA_HOME ?? process.env.JAVA_HOME;
  return { sparkHome, python, ...(javaHome ? { javaHome } : {}) };
}

/** The path of the hosts file the test cluster keeps (Service names and pod hostnames → 127.0.0.1). */
export function clusterHostsFile(info: ClusterInfo): string {
  return join(info.dir, HOSTS_FILE_NAME);
}

/**
 * The image table entry of a Spark image: `entrypoint.sh` with the runtime, the node's credentials (for the
 * volume stand-in) and the hosts file. `env` adds image environment (e.g. `PYTHONPATH`).
 */
export function sparkImageSpec(info: ClusterInfo, runtime: SparkRuntime = sparkRuntime(), env: Record<string, string> = {}): ImageSpec {
  const path = [dirname(runtime.python), ...(runtime.javaHome ? [join(runtime.javaHome, 'bin')] : []), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  return {
    command: [sparkEntrypoint],
    env: {
      PATH: path,
      SPARK_HOME: runtime.sparkHome,
      ...(runtime.javaHome ? { JAVA_HOME: runtime.javaHome } : {}),
      PYSPARK_PYTHON: runtime.python,
      PYSPARK_DRIVER_PYTHON: runtime.python,
      PYTHONDONTWRITEBYTECODE: '1',
      GP_SPARK_HOSTS_FILE: clusterHostsFile(info),
      GP_SPARK_NODE_BIN: process.execPath,
      GP_SPARK_NODE_NAME: info.nodeName,
      GP_SPARK_NODE_API: info.apiServerUrl,
      GP_SPARK_NODE_CA: join(info.pkiDir, 'ca.crt'),
      GP_SPARK_NODE_CERT: join(info.pkiDir, 'process-node.crt'),
      GP_SPARK_NODE_KEY: join(info.pkiDir, 'process-node.key'),
      ...env,
    },
  };
}
