/**
 * spark-submit options without a shell: the admin's `SPARK_OPTS` (kernel.json) and a client's
 * `KERNEL_EXTRA_SPARK_OPTS` are split into words here, as a POSIX shell would split them, and handed to
 * `bin/run.sh` one argument per line (`GP_SPARK_SUBMIT_ARGS`), so run.sh never `eval`s or globs them.
 *
 * - The admin's options expand `${VAR}`/`$VAR` from the kernel's environment, each expansion staying
 *   inside its word (a username with a space is one argument, a `*` is not a glob). Command
 *   substitution is refused.
 * - A client's options expand nothing and must be `--conf key=value` or a resource option; settings the
 *   admin owns (`ADMIN_OWNED_SPARK_*` below) are refused with an AuthorizationError (403) naming them.
 */
import { AuthorizationError, ConfigError, GpError } from '@gp/core';

/** A client's `KERNEL_EXTRA_SPARK_OPTS` could not be split into words (an unterminated quote...). */
export class SparkOptionsError extends GpError {
  constructor(variable: string, text: string, problem: string) {
    super('GP_INVALID_SPARK_OPTS', `${variable} ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text)} cannot be read: ${problem}. Expected spark-submit options such as --conf spark.executor.instances=2.`, {
      httpStatus: 400,
      details: { variable, problem },
    });
  }
}

export interface ShellWordsOptions {
  /** Expands `${NAME}`/`$NAME`; without it `$` is an ordinary character. */
  expand?: (name: string) => string;
  /** For messages: the variable the text came from. */
  variable?: string;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Splits `text` into words as a POSIX shell would (quotes, backslashes, optional `$VAR`), with no globbing. */
export function splitShellWords(text: string, options: ShellWordsOptions = {}): string[] {
  const variable = options.variable ?? 'SPARK_OPTS';
  const words: string[] = [];
  let word = '';
  let inWord = false; // a quoted empty string ('' or "") is a word too
  let i = 0;
  const expandAt = (): string | undefined => {
    // At text[i] === '$', with expansion on: returns the value and advances, or undefined for a literal '$'.
    const next = text[i + 1];
    if (next === '(' || next === '`') throw new SparkOptionsError(variable, text, 'command substitution is not supported');
    if (next === '{') {
      const end = text.indexOf('}', i + 2);
      const name = end < 0 ? '' : text.slice(i + 2, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SparkOptionsError(variable, text, `only \${NAME} expansions are supported, not "${text.slice(i, end < 0 ? i + 12 : end + 1)}"`);
      i = end + 1;
      return options.expand!(name);
    }
    NAME.lastIndex = i + 1;
    const m = NAME.exec(text);
    if (!m) return undefined;
    i = i + 1 + m[0].length;
    return options.expand!(m[0]);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SparkOptionsError(variable, text, 'a single quote is not closed');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= text.length) throw new SparkOptionsError(variable, text, 'a double quote is not closed');
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
        } else if (d === '`') {
          throw new SparkOptionsError(variable, text, 'command substitution is not supported');
        } else if (d === '$' && options.expand) {
          const v = expandAt();
          if (v === undefined) {
            word += '$';
            i++;
          } else word += v;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') {
        word += text[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (c === '`' && options.expand) {
      throw new SparkOptionsError(variable, text, 'command substitution is not supported');
    } else if (c === '$' && options.expand) {
      const v = expandAt();
      if (v === undefined) {
        word += '$';
        inWord = true;
        i++;
      } else if (v !== '') {
        // Unlike an unquoted shell expansion, the value is not split or globbed: it stays in this word.
        word += v;
        inWord = true;
      }
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Options with a value that a client may give (sizes and counts of its own driver and executors). */
const CLIENT_VALUE_OPTIONS = new Set(['--driver-memory', '--driver-cores', '--executor-memory', '--executor-cores', '--num-executors', '--total-executor-cores']);
/** Options without a value that a client may give. */
const CLIENT_FLAGS = new Set(['--verbose', '-v', '--supervise']);

/**
 * `--conf` keys only the admin sets: where the application runs and as whom (master, deploy mode, name,
 * namespace, service account, credentials), what runs (images, pod templates, labels that gp tracks the
 * kernel by), and what is mounted or read from the host (volumes, secrets, files, keytabs). Every
 * `spark.kubernetes.*` key is the admin's except `CLIENT_KUBERNETES_KEYS`.
 */
export const ADMIN_OWNED_SPARK_KEYS: readonly RegExp[] = [
  /^spark\.kubernetes\./,
  /^spark\.master$/,
  /^spark\.submit\./,
  /^spark\.app\.name$/,
  /^spark\.(files|jars|archives|pyFiles)$/,
  /^spark\.jars\.ivy/,
  /^spark\.kerberos\./,
  /^spark\.yarn\./,
  /^spark\.driver\.host$/,
];

/** The `spark.kubernetes.*` keys a client may set: resource sizes of its own pods, nothing of identity or mounts. */
export const CLIENT_KUBERNETES_KEYS: ReadonlySet<string> = new Set([
  'spark.kubernetes.driver.request.cores',
  'spark.kubernetes.driver.limit.cores',
  'spark.kubernetes.executor.request.cores',
  'spark.kubernetes.executor.limit.cores',
  'spark.kubernetes.memoryOverheadFactor',
  'spark.kubernetes.allocation.batch.size',
  'spark.kubernetes.allocation.batch.delay',
  'spark.kubernetes.pyspark.pythonVersion',
]);

function adminOwnedKey(key: string): boolean {
  return !CLIENT_KUBERNETES_KEYS.has(key) && ADMIN_OWNED_SPARK_KEYS.some((re) => re.test(key));
}

/**
 * Splits and checks a client's `KERNEL_EXTRA_SPARK_OPTS`. Throws `SparkOptionsError` (400) when it cannot
 * be split or holds a newline, and `AuthorizationError` (`GP_SPARK_OPTION_NOT_ALLOWED`, 403) naming every
 * admin-owned setting or option it tries to set.
 */
export function checkClientSparkOpts(text: string, variable = 'KERNEL_EXTRA_SPARK_OPTS'): string[] {
  const words = splitShellWords(text, { variable });
  const refused: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let conf: string | undefined;
    if (w === '--conf' || w === '-c') {
      conf = words[++i];
      if (conf === undefined) throw new SparkOptionsError(variable, text, `${w} needs a key=value`);
    } else if (w.startsWith('--conf=')) {
      conf = w.slice('--conf='.length);
    } else if (CLIENT_VALUE_OPTIONS.has(w)) {
      if (words[++i] === undefined) throw new SparkOptionsError(variable, text, `${w} needs a value`);
      continue;
    } else if (CLIENT_FLAGS.has(w) || [...CLIENT_VALUE_OPTIONS].some((o) => w.startsWith(`${o}=`))) {
      continue;
    } else {
      refused.push(w.startsWith('-') ? w.split('=')[0]! : w);
      continue;
    }
    const eq = conf.indexOf('=');
    if (eq <= 0) throw new SparkOptionsError(variable, text, `--conf ${JSON.stringify(conf)} is not key=value`);
    const key = conf.slice(0, eq).trim();
    if (adminOwnedKey(key)) refused.push(key);
  }
  for (const w of words) if (/[\n\r\0]/.test(w)) throw new SparkOptionsError(variable, text, 'an option holds a line break');
  if (refused.length > 0) {
    const unique = [...new Set(refused)];
    throw new AuthorizationError(
      'GP_SPARK_OPTION_NOT_ALLOWED',
      `${variable} may not set ${unique.join(', ')}: the administrator owns them (images, service account, namespace, volumes, secrets, pod templates, ` +
        `labels, files from the host, and every spark.kubernetes.* setting but resource sizes). A client may give --conf key=value for other spark.* settings ` +
        `and ${[...CLIENT_VALUE_OPTIONS].join(', ')}.`,
      { details: { variable, refused: unique } },
    );
  }
  return words;
}

/** The client's options stand where the admin's SPARK_OPTS names this variable (as a word of its own). */
const CLIENT_REFERENCE = /(^|\s)(\$\{KERNEL_EXTRA_SPARK_OPTS\}|\$KERNEL_EXTRA_SPARK_OPTS)(?=\s|$)/g;
const CLIENT_SLOT = '\u0000gp-client-spark-opts\u0000';

/**
 * The whole spark-submit option list of a launch: the admin's `SPARK_OPTS` with `${VAR}` expanded from
 * `env` (unknown ones are empty, as in a shell), the client's checked `KERNEL_EXTRA_SPARK_OPTS` where the
 * admin's text names it (nowhere: not used). Throws `SparkOptionsError`, `AuthorizationError`, or a
 * `ConfigError` when an admin value holds a line break (run.sh takes one argument per line).
 */
export function sparkSubmitArgs(adminOpts: string, env: Record<string, string | undefined>): string[] {
  const client = env.KERNEL_EXTRA_SPARK_OPTS ? checkClientSparkOpts(env.KERNEL_EXTRA_SPARK_OPTS) : [];
  const marked = adminOpts.replace(CLIENT_REFERENCE, (_m, pre: string) => `${pre}'${CLIENT_SLOT}'`);
  const words = splitShellWords(marked, { expand: (name) => env[name] ?? '', variable: 'SPARK_OPTS' });
  const out = words.flatMap((w) => (w === CLIENT_SLOT ? client : [w]));
  for (const w of out) {
    if (/[\n\r\0]/.test(w)) {
      throw new ConfigError('SPARK_OPTS', { kind: 'env', name: 'SPARK_OPTS' }, w, 'spark-submit options without line breaks (after expanding ${VAR} references)');
    }
  }
  return out;
}
