/**
 * The options of `k8s-spec install`: one definition each (from @gp/core's shared definitions where the
 * launcher and gateway use the same setting). Flags, help, env vars and config-file keys derive from here.
 */
import {
  authorizedUsersOption,
  defineOption,
  defineOptions,
  executorImageNameOption,
  imageNameOption,
  languageOption,
  launchTimeoutOption,
  logLevelOption,
  parsePythonClassName,
  portRangeOption,
  sparkInitModeOption,
  unauthorizedUsersOption,
  type ValuesOf,
} from '@gp/core';

export const DEFAULT_KERNEL_CLASS = 'ipykernel.ipkernel.IPythonKernel';

/** The base name of the default config file (`jupyter_k8s_spec_config.{json,yaml,yml}`). */
export const CONFIG_BASENAME = 'jupyter_k8s_spec_config';

const flag = (name: string, section: string, help: string) =>
  defineOption<boolean>({ name, kind: 'bool', section, help, default: false });

export const installOptionDefs = {
  spark: flag(
    'spark',
    'K8sSpecInstaller',
    'Install kernelspec for use with Spark. When combined with --crd, will configure the SparkOperatorProvisioner for Spark Application CRDs.',
  ),
  user: flag(
    'user',
    'BaseSpecApp',
    'Try to install the kernel spec to the per-user directory instead of the system or environment directory.',
  ),
  replace: flag(
    'replace',
    'BaseSpecApp',
    'If a kernel specification already exists in the destination, allow for its replacement (atomically: the new spec is staged beside the old one and swapped in).',
  ),
  sys_prefix: flag(
    'sys_prefix',
    'BaseSpecApp',
    "Install to the active Python environment's prefix (VIRTUAL_ENV, CONDA_PREFIX, or python3's sys.prefix). The kernelspec will be installed in PREFIX/share/jupyter/kernels/",
  ),
  tensorflow: flag('tensorflow', 'K8sSpecInstaller', 'Install kernelspec for use with Tensorflow (a TensorFlow kernel image; Python only, not with --spark or --crd).'),
  crd: flag(
    'crd',
    'K8sSpecInstaller',
    'Install kernelspec for use with a Custom Resource Definition. Requires --spark: together they configure the SparkOperatorProvisioner for Spark Application CRDs.',
  ),
  image_name: { ...imageNameOption, section: 'K8sSpecInstaller', defaultText: 'depends on the language and flags (e.g. elyra/kernel-py:3.2.3)' },
  executor_image_name: { ...executorImageNameOption, section: 'K8sSpecInstaller', defaultText: 'the kernel image' },
  spark_home: defineOption<string>({
    name: 'spark_home',
    kind: 'string',
    section: 'BaseSpecSparkApp',
    help: 'Specify where the spark files can be found.',
    default: '/opt/spark',
    env: 'SPARK_HOME',
  }),
  spark_init_mode: sparkInitModeOption,
  extra_spark_opts: defineOption<string>({
    name: 'extra_spark_opts',
    kind: 'string',
    section: 'BaseSpecSparkApp',
    help: 'Specify additional Spark options.',
    default: '',
  }),
  prefix: defineOption<string>({
    name: 'prefix',
    kind: 'string',
    section: 'BaseSpecApp',
    help: 'Specify a prefix to install to, e.g. an env. The kernelspec will be installed in PREFIX/share/jupyter/kernels/',
    default: '',
  }),
  kernel_name: defineOption<string>({
    name: 'kernel_name',
    kind: 'string',
    section: 'BaseSpecApp',
    help: 'Install the kernel spec into a directory with this name (lowercased, spaces become "_"; must match ^[a-z0-9._-]+$).',
    default: '',
    defaultText: 'k8s_python, k8s_r, k8s_scala, with _spark for --spark, k8s_python_spark_operator for --crd --spark, k8s_python_tf for --tensorflow',
  }),
  display_name: defineOption<string>({
    name: 'display_name',
    kind: 'string',
    section: 'BaseSpecApp',
    help: 'The display name of the kernel - used by user-facing applications.',
    default: '',
    defaultText: "'Kubernetes <Language>', with ' (with Spark)' for --spark, 'Kubernetes Spark Operator' for --crd --spark",
  }),
  language: languageOption,
  authorized_users: authorizedUsersOption,
  unauthorized_users: unauthorizedUsersOption,
  port_range: portRangeOption,
  launch_timeout: launchTimeoutOption,
  ipykernel_subclass_name: defineOption<string>({
    name: 'ipykernel_subclass_name',
    kind: 'string',
    section: 'BaseSpecApp',
    help: 'For Python kernels, the name of the ipykernel subclass.',
    default: DEFAULT_KERNEL_CLASS,
    parse: (raw, ctx) => parsePythonClassName(raw, ctx.option, ctx.source),
  }),
  log_level: logLevelOption,
  config_file: defineOption<string>({
    name: 'config_file',
    kind: 'string',
    section: 'JupyterApp',
    flag: 'config',
    help: `Full path of a config file (JSON or YAML). Without it, ${CONFIG_BASENAME}.json, .yaml or .yml is read from the first Jupyter config directory that has one: JUPYTER_CONFIG_DIR (default ~/.jupyter), JUPYTER_CONFIG_PATH, the etc/jupyter of the active environment (VIRTUAL_ENV or CONDA_PREFIX), /usr/local/etc/jupyter, /etc/jupyter.`,
    default: '',
    env: 'GP_CONFIG',
  }),
};

export const installOptions = defineOptions(installOptionDefs, {
  aliases: [{ flag: 'debug', help: 'set log level to DEBUG (maximize logging output)', sets: { option: 'log_level', value: 'DEBUG' } }],
  parents: {
    K8sSpecInstaller: ['BaseSpecSparkApp'],
    BaseSpecSparkApp: ['BaseSpecApp'],
    BaseSpecApp: ['RemoteProvisionerConfigMixin', 'JupyterApp'],
    JupyterApp: ['Application'],
  },
});

export type InstallValues = ValuesOf<typeof installOptionDefs>;

/** The order `--help` lists flags in (as the reference's listing does). */
export const HELP_ORDER = [
  'spark',
  'user',
  'replace',
  'sys-prefix',
  'debug',
  'tensorflow',
  'crd',
  'image-name',
  'executor-image-name',
  'spark-home',
  'spark-init-mode',
  'extra-spark-opts',
  'prefix',
  'kernel-name',
  'display-name',
  'language',
  'authorized-users',
  'unauthorized-users',
  'port-range',
  'launch-timeout',
  'ipykernel-subclass-name',
  'log-level',
  'config',
];

/** The order of sections in `--help-all`. */
export const SECTION_ORDER = ['Application', 'JupyterApp', 'RemoteProvisionerConfigMixin', 'BaseSpecApp', 'BaseSpecSparkApp', 'K8sSpecInstaller'];
