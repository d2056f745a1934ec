/**
 * The decision table of `k8s-spec install`: from resolved options to the kernel spec's names, kernel.json
 * and file list. Pure: no file system access, so every flag combination is unit-testable.
 */
import {
  ARGV_PLACEHOLDER_ARGS,
  ConfigError,
  kernelJsonLanguage,
  LAUNCHER_SCRIPTS,
  LAUNCHER_TEMPLATES,
  normalizeKernelName,
  portRangeToString,
  PROVISIONER_NAMES,
  type Language,
  type LauncherScript,
  type TemplateName,
  type ValueSource,
  type WrittenKernelJson,
} from '@gp/core';
import { DEFAULT_IMAGES, type ImageKey } from './images.js';
import { DEFAULT_KERNEL_CLASS, type InstallValues } from './options.js';

export type Variant = 'vanilla' | 'spark' | 'spark-operator' | 'tensorflow';
export type LogoKind = 'python' | 'r' | 'scala' | 'tensorflow';
/** The launch scripts and templates a spec ships: the kernel contract's names (`@gp/core`). */
export type ScriptName = LauncherScript;
export type { TemplateName };

/** A file of the spec: copied from a resource, or generated text. */
export type SpecFile =
  | { path: string; from: { kind: 'launcher'; name: ScriptName } | { kind: 'template'; name: TemplateName } | { kind: 'logo'; name: LogoKind }; mode: number }
  | { path: string; content: string; mode: number };

/** kernel.json as this command writes it: the kernel contract's shape (`@gp/core`), every field present. */
export type KernelJson = WrittenKernelJson;

export interface SpecPlan {
  variant: Variant;
  language: Language;
  kernelName: string;
  displayName: string;
  /** kernel.json, with `installDir` substituted. */
  kernelJson(installDir: string): KernelJson;
  files: SpecFile[];
  /** Warnings to log (ignored options, coerced language). */
  warnings: string[];
}

/** A combination of options that cannot produce a spec. */
export class InvalidCombinationError extends ConfigError {}

export type OptionSources = Partial<Record<keyof InstallValues, ValueSource>>;

// No `app` label here: the reference's `app=kubernetes-kernel-provider` would override the pod template's
// `app` (GP_APP_NAME, default gateway-provisioners), and the spec promises driver and executor pods the same
// three labels as kernel pods (`app=gateway-provisioners`, `kernel_id`, `component` kernel/worker).
const SPARK_LABELS = [
  '--conf spark.kubernetes.driver.label.kernel_id=${KERNEL_ID}',
  '--conf spark.kubernetes.driver.label.component=kernel',
  '--conf spark.kubernetes.executor.label.kernel_id=${KERNEL_ID}',
  '--conf spark.kubernetes.executor.label.component=worker',
  '--conf spark.kubernetes.driver.container.image=${KERNEL_IMAGE}',
  '--conf spark.kubernetes.executor.container.image=${KERNEL_EXECUTOR_IMAGE}',
  '--conf spark.kubernetes.authenticate.driver.serviceAccountName=${KERNEL_SERVICE_ACCOUNT_NAME}',
  '--conf spark.kubernetes.submission.waitAppCompletion=false',
];

/**
 * The spark-submit options kernel.json carries in `SPARK_OPTS` (`__TOREE_SPARK_OPTS__` for Scala), with
 * `${VAR}` references left for the provisioner and run.sh to expand, as the reference writes them.
 */
export function sparkOpts(language: Language, extraSparkOpts: string): string {
  const head = [
    '--master k8s://https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}',
    '--deploy-mode cluster',
    '--name ${KERNEL_USERNAME}-${KERNEL_ID}',
    '--conf spark.kubernetes.namespace=${KERNEL_NAMESPACE}',
    ...(language === 'Scala' ? ['--driver-memory 2G'] : []),
    ...SPARK_LABELS,
    ...(language === 'Python' ? ['--conf spark.kubernetes.pyspark.pythonVersion=3'] : []),
  ];
  return `${head.join(' ')} ${extraSparkOpts} \${KERNEL_EXTRA_SPARK_OPTS}`;
}

const LANGUAGE_WORD: Record<Language, string> = { Python: 'python', R: 'r', Scala: 'scala' };

function flagSource(sources: OptionSources, name: keyof InstallValues): ValueSource {
  return sources[name] ?? { kind: 'flag', name: name.replace(/_/g, '-') };
}

/**
 * Plans the spec for resolved options. Throws `InvalidCombinationError` for combinations that cannot work
 * (--crd without --spark, --tensorflow with Spark or a non-Python language).
 */
export function planKernelSpec(values: InstallValues, sources: OptionSources = {}): SpecPlan {
  const warnings: string[] = [];
  let language = values.language;
  if (values.crd && !values.spark) {
    throw new InvalidCombinationError('--crd', flagSource(sources, 'crd'), true, 'to be combined with --spark (--crd --spark installs a Spark Operator kernelspec); --crd alone is not supported');
  }
  if (values.tensorflow && (values.spark || values.crd)) {
    throw new InvalidCombinationError('--tensorflow', flagSource(sources, 'tensorflow'), true, 'to be used without --spark and --crd (there is no Spark TensorFlow kernel image)');
  }
  if (values.tensorflow && language !== 'Python') {
    throw new InvalidCombinationError('--tensorflow', flagSource(sources, 'tensorflow'), true, `--language Python (TensorFlow kernels are Python kernels), not ${language}`);
  }
  const variant: Variant = values.crd ? 'spark-operator' : values.spark ? 'spark' : values.tensorflow ? 'tensorflow' : 'vanilla';
  if (variant === 'spark-operator' && language !== 'Python') {
    warnings.push(`Spark Operator kernelspecs support only Python; installing a Python kernelspec instead of ${language}.`);
    language = 'Python';
  }
  const spark = variant === 'spark' || variant === 'spark-operator';
  if (!spark && values.extra_spark_opts !== '') {
    warnings.push(`--extra-spark-opts is ignored: it applies only to Spark kernelspecs (--spark).`);
  }
  if (variant === 'spark' && !isUsableSparkHome(values.spark_home)) {
    throw new InvalidCombinationError(
      '--spark-home',
      flagSource(sources, 'spark_home'),
      values.spark_home,
      "an absolute path such as /opt/spark (or a ${VAR} reference for the host to expand): bin/run.sh runs ${SPARK_HOME}/bin/spark-submit",
    );
  }
  const sparkInitMode = spark ? values.spark_init_mode : 'none';
  const lang = LANGUAGE_WORD[language];

  const defaults: Record<Variant, { name: string; display: string; image: ImageKey }> = {
    vanilla: { name: `k8s_${lang}`, display: `Kubernetes ${language}`, image: lang as ImageKey },
    spark: { name: `k8s_${lang}_spark`, display: `Kubernetes ${language} (with Spark)`, image: `spark-${lang}` as ImageKey },
    'spark-operator': { name: 'k8s_python_spark_operator', display: 'Kubernetes Spark Operator', image: 'spark-operator' },
    tensorflow: { name: 'k8s_python_tf', display: 'Kubernetes Python (with TensorFlow)', image: 'tensorflow' },
  };
  const d = defaults[variant];
  const kernelName = values.kernel_name.trim() === '' ? d.name : normalizeKernelName(values.kernel_name, '--kernel-name', flagSource(sources, 'kernel_name'));
  const displayName = values.display_name.trim() === '' ? d.display : values.display_name;
  const imageName = values.image_name ?? DEFAULT_IMAGES[d.image];
  const executorImageName = values.executor_image_name ?? imageName;
  const kernelClass = values.ipykernel_subclass_name;
  if (language !== 'Python' && kernelClass !== DEFAULT_KERNEL_CLASS) {
    warnings.push(`--ipykernel-subclass-name is ignored: it applies only to Python kernels, not ${language}.`);
  }

  const config: Record<string, unknown> = { image_name: imageName };
  if (spark) config.executor_image_name = executorImageName;
  if (!sameList(values.authorized_users, [])) config.authorized_users = values.authorized_users;
  if (!sameList(values.unauthorized_users, ['root'])) config.unauthorized_users = values.unauthorized_users;
  if (!values.port_range.disabled) config.port_range = portRangeToString(values.port_range);
  config.launch_timeout = values.launch_timeout;

  const placeholders = {
    kernelId: ARGV_PLACEHOLDER_ARGS.kernelId,
    portRange: ARGV_PLACEHOLDER_ARGS.portRange,
    address: [...ARGV_PLACEHOLDER_ARGS.responseAddress, ...ARGV_PLACEHOLDER_ARGS.publicKey],
    klass: language === 'Python' ? ['--kernel-class-name', kernelClass] : [],
    sparkMode: ['--spark-context-initialization-mode', sparkInitMode],
    // As the reference: the host fills the policy ('' when not encrypting), the launcher provisions CurveZMQ keys.
    encryption: ['--transport-encryption', '{transport_encryption}'],
  };
  // Only kernels whose sockets can be CurveZMQ servers declare it (ipykernel >= 7.3; IRkernel and Toree cannot).
  const curve = language === 'Python';

  const files: SpecFile[] = [];
  const logo: LogoKind = variant === 'tensorflow' ? 'tensorflow' : lang as LogoKind;
  files.push({ path: 'logo-64x64.png', from: { kind: 'logo', name: logo }, mode: 0o644 });
  let env: Record<string, string> = {};
  let argv: (dir: string) => string[];
  let provisioner: WrittenKernelJson['metadata']['kernel_provisioner']['provisioner_name'] = PROVISIONER_NAMES.kubernetes;
  let debugger_ = true;
  if (variant === 'spark-operator') {
    provisioner = PROVISIONER_NAMES.custom_resource;
    files.push({ path: `scripts/${LAUNCHER_SCRIPTS.custom_resource}`, from: { kind: 'launcher', name: LAUNCHER_SCRIPTS.custom_resource }, mode: 0o755 });
    files.push({ path: `scripts/${LAUNCHER_TEMPLATES.custom_resource}`, from: { kind: 'template', name: LAUNCHER_TEMPLATES.custom_resource }, mode: 0o644 });
    argv = (dir) => ['node', `${dir}/scripts/${LAUNCHER_SCRIPTS.custom_resource}`, ...placeholders.kernelId, ...placeholders.portRange, ...placeholders.address, ...placeholders.encryption, ...placeholders.sparkMode, ...placeholders.klass];
  } else {
    files.push({ path: `scripts/${LAUNCHER_SCRIPTS.kubernetes}`, from: { kind: 'launcher', name: LAUNCHER_SCRIPTS.kubernetes }, mode: 0o755 });
    files.push({ path: `scripts/${LAUNCHER_TEMPLATES.kubernetes}`, from: { kind: 'template', name: LAUNCHER_TEMPLATES.kubernetes }, mode: 0o644 });
    if (variant === 'spark') {
      files.push({ path: 'bin/run.sh', content: runScript(language), mode: 0o755 });
      const opts = sparkOpts(language, values.extra_spark_opts);
      if (language === 'Scala') {
        env = { SPARK_HOME: values.spark_home, __TOREE_SPARK_OPTS__: opts, __TOREE_OPTS__: '--alternate-sigint USR2', LAUNCH_OPTS: '', DEFAULT_INTERPRETER: 'Scala' };
      } else {
        env = { SPARK_HOME: values.spark_home, SPARK_OPTS: opts, LAUNCH_OPTS: '' };
      }
      // As the reference: Python Spark kernels take no --port-range; R and Scala do, and have no debugger.
      argv = (dir) => [`${dir}/bin/run.sh`, ...placeholders.kernelId, ...(language === 'Python' ? [] : placeholders.portRange), ...placeholders.address, ...placeholders.sparkMode, ...placeholders.klass];
      debugger_ = language === 'Python';
    } else {
      argv = (dir) => ['node', `${dir}/scripts/${LAUNCHER_SCRIPTS.kubernetes}`, ...placeholders.kernelId, ...placeholders.portRange, ...placeholders.address, ...(curve ? placeholders.encryption : []), ...placeholders.klass];
    }
  }
  const kernelJson = (dir: string): KernelJson => ({
    argv: argv(dir),
    env: { ...env },
    display_name: displayName,
    language: kernelJsonLanguage(language),
    interrupt_mode: 'signal',
    metadata: {
      ...(curve && variant !== 'spark' ? { supported_encryption: ['curve'] } : {}),
      ...(debugger_ ? { debugger: true as const } : {}),
      kernel_provisioner: { provisioner_name: provisioner, config: { ...config } },
    },
  });
  return { variant, language, kernelName, displayName, kernelJson, files, warnings };
}

/** SPARK_HOME as kernel.json carries it: an absolute path, or a `${VAR}` the provisioner expands at launch. */
function isUsableSparkHome(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return (value.startsWith('/') || value.startsWith('${')) && !/[\u0000-\u001f\u007f]/.test(value);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
}

/** kernel.json text: indent 2 and a trailing newline, as the reference writes it. */
export function kernelJsonText(json: KernelJson): string {
  return JSON.stringify(json, null, 2) + '\n';
}

const KERNEL_WORDS: Record<Language, string> = { Python: 'IPython kernel', R: 'IRkernel', Scala: 'Toree kernel' };
const LAUNCHERS: Record<Exclude<Language, 'Scala'>, string> = { Python: 'python/scripts/launch_ipykernel.py', R: 'R/scripts/launch_IRkernel.R' };

/**
 * `bin/run.sh` of a `--spark` spec. It renders the spec's pod template with the spec's launcher
 * (`--pod-template`, `--spark-opts-out`), so the driver and executor pods really get the template, then
 * execs spark-submit in cluster mode.
 */
export function runScript(language: Language): string {
  const head = `#!/usr/bin/env bash
# Spark-on-Kubernetes kernel launch, written by \`k8s-spec install --spark\` (gp).
# spark-submit runs here, in the host application's pod. The driver and executor pods are built from
# scripts/kernel-pod.yaml.j2, rendered by scripts/launch_kubernetes.mjs into a Spark pod template.

if [ "\${GP_IMPERSONATION_ENABLED}" = "True" ]; then
  USER_CLAUSE="as user \${KERNEL_USERNAME:-UNSPECIFIED}"
else
  USER_CLAUSE="on behalf of user \${KERNEL_USERNAME:-UNSPECIFIED}"
fi

echo
echo "Starting ${KERNEL_WORDS[language]} for Spark in Kubernetes mode \${USER_CLAUSE}"
echo

if [ -z "\${SPARK_HOME}" ]; then
  echo "SPARK_HOME must be set to the location of a Spark distribution!" >&2
  exit 1
fi

if [ -z "\${KERNEL_ID}" ]; then
  echo "KERNEL_ID must be set for discovery and lifecycle management!" >&2
  exit 1
fi

SPEC_DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")/.." && pwd)"
KERNEL_LAUNCHERS_DIR="\${KERNEL_LAUNCHERS_DIR:-/usr/local/bin/kernel-launchers}"
`;
  const scalaJars = `PROG_HOME="\${KERNEL_LAUNCHERS_DIR}/scala"
KERNEL_ASSEMBLY="$(cd "\${PROG_HOME}/lib" 2>/dev/null && ls -1 toree-assembly-*.jar 2>/dev/null | head -n 1)"
if [ -z "\${KERNEL_ASSEMBLY}" ]; then
  echo "Toree assembly '\${PROG_HOME}/lib/toree-assembly-*.jar' is missing.  Exiting..." >&2
  exit 1
fi
TOREE_ASSEMBLY="\${PROG_HOME}/lib/\${KERNEL_ASSEMBLY}"
LAUNCHER_JAR="$(cd "\${PROG_HOME}/lib" && ls -1 toree-launcher*.jar 2>/dev/null | head -n 1)"
if [ -z "\${LAUNCHER_JAR}" ]; then
  echo "Scala launcher jar '\${PROG_HOME}/lib/toree-launcher*.jar' is missing.  Exiting..." >&2
  exit 1
fi
LAUNCHER_APP="\${PROG_HOME}/lib/\${LAUNCHER_JAR}"

# Install-time options live in __TOREE_SPARK_OPTS__/__TOREE_OPTS__; runtime values take precedence.
if [ "\${SPARK_OPTS}" = "" ]; then
  SPARK_OPTS=\${__TOREE_SPARK_OPTS__}
fi
if [ "\${TOREE_OPTS}" = "" ]; then
  TOREE_OPTS=\${__TOREE_OPTS__}
fi
`;
  const podTemplate = `
# Render the kernel pod template into the Spark pod template and derive the matching spark-submit
# options (podTemplateFile for driver and executors, cores, memory). The directory goes on every exit
# path: a failure here, spark-submit failing, or a signal (spark-submit has read the template by the time
# it exits; the provisioner also removes it when the kernel ends).
POD_TEMPLATE_DIR="\${GP_POD_TEMPLATE_DIR:-/tmp}/kpt_\${KERNEL_ID}"
cleanup_pod_template() { rm -rf -- "\${POD_TEMPLATE_DIR}"; }
trap cleanup_pod_template EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
# spark-submit runs as a child (not exec), so this script outlives it and removes the directory; signals
# to this script are passed on to it.
run_submit() {
  "$@" &
  SUBMIT_PID=$!
  trap 'kill -TERM "\${SUBMIT_PID}" 2>/dev/null' TERM
  trap 'kill -INT "\${SUBMIT_PID}" 2>/dev/null' INT
  trap 'kill -HUP "\${SUBMIT_PID}" 2>/dev/null' HUP
  while :; do
    wait "\${SUBMIT_PID}"
    SUBMIT_STATUS=$?
    kill -0 "\${SUBMIT_PID}" 2>/dev/null || break
  done
  exit "\${SUBMIT_STATUS}"
}
mkdir -p "\${POD_TEMPLATE_DIR}" && chmod 700 "\${POD_TEMPLATE_DIR}" || exit 1
node "\${SPEC_DIR}/scripts/launch_kubernetes.mjs" "$@" \\
  --pod-template "\${POD_TEMPLATE_DIR}/pod.yaml" \\
  --spark-opts-out "\${POD_TEMPLATE_DIR}/spark-opts" || exit $?
POD_TEMPLATE_OPTS="$(cat "\${POD_TEMPLATE_DIR}/spark-opts")" || exit 1

# No globbing from here on: an option such as --conf spark.x=* stays as written.
set -f
if [ -n "\${GP_SPARK_SUBMIT_ARGS+x}" ]; then
  # A gp host split SPARK_OPTS (\${VAR} expanded, each value staying one argument) and the client's
  # KERNEL_EXTRA_SPARK_OPTS (checked: nothing the admin owns) into one argument per line: no eval.
  SUBMIT_OPTS=()
  if [ -n "\${GP_SPARK_SUBMIT_ARGS}" ]; then
    mapfile -t SUBMIT_OPTS <<< "\${GP_SPARK_SUBMIT_ARGS}"
  fi
else
  # Another host: the admin's SPARK_OPTS as the reference's eval reads them; a client's
  # KERNEL_EXTRA_SPARK_OPTS is dropped, since no gp host checked it.
  if [ -n "\${KERNEL_EXTRA_SPARK_OPTS}" ]; then
    echo "Ignoring KERNEL_EXTRA_SPARK_OPTS: only a gp host checks client Spark options." >&2
  fi
  KERNEL_EXTRA_SPARK_OPTS=""
  eval "SUBMIT_OPTS=(\${SPARK_OPTS})"
fi
# gp's own output (launch_kubernetes.mjs --spark-opts-out), shell-quoted; LAUNCH_OPTS is the admin's.
eval "POD_TEMPLATE_ARGS=(\${POD_TEMPLATE_OPTS})"
SUBMIT_OPTS+=("\${POD_TEMPLATE_ARGS[@]}")
eval "EXTRA_LAUNCH_OPTS=(\${LAUNCH_OPTS})"
`;
  if (language === 'Scala') {
    return `${head}${scalaJars}${podTemplate}eval "TOREE_OPTS_ARR=(\${TOREE_OPTS})"

set -x
run_submit "\${SPARK_HOME}/bin/spark-submit" "\${SUBMIT_OPTS[@]}" \\
  --jars "local://\${TOREE_ASSEMBLY}" \\
  --class launcher.ToreeLauncher \\
  "local://\${LAUNCHER_APP}" \\
  "\${TOREE_OPTS_ARR[@]}" "\${EXTRA_LAUNCH_OPTS[@]}" "$@"
`;
  }
  return `${head}${podTemplate}
set -x
run_submit "\${SPARK_HOME}/bin/spark-submit" "\${SUBMIT_OPTS[@]}" \\
  "local://\${KERNEL_LAUNCHERS_DIR}/${LAUNCHERS[language]}" \\
  "\${EXTRA_LAUNCH_OPTS[@]}" "$@"
`;
}
