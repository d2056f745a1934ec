/**
 * The kernel contract: when a Spark kernel creates its SparkContext (`--spark-context-initialization-mode`,
 * `KERNEL_SPARK_CONTEXT_INIT_MODE`): `lazy` on first use, `eager` at start, `none` never (a plain kernel).
 */
import { ConfigError, type ValueSource } from '../errors.js';

export const SPARK_INIT_MODES = ['lazy', 'eager', 'none'] as const;
export type SparkInitMode = (typeof SPARK_INIT_MODES)[number];

export function isSparkInitMode(raw: unknown): raw is SparkInitMode {
  return typeof raw === 'string' && (SPARK_INIT_MODES as readonly string[]).includes(raw);
}

/** A Spark init mode, as given (no case folding); throws a ConfigError naming the valid modes. */
export function parseSparkInitMode(raw: unknown, option = 'spark_init_mode', source: ValueSource = { kind: 'default' }): SparkInitMode {
  if (isSparkInitMode(raw)) return raw;
  throw new ConfigError(option, source, raw, `one of ${SPARK_INIT_MODES.join(', ')}`);
}
