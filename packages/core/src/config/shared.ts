/**
 * Option definitions shared by the spec CLI, the launcher and the gateway: the provisioner settings that
 * `GP_*` environment variables, config files and kernel.json all carry.
 */
import { defineOption } from './options.js';
import {
  DISABLED_PORT_RANGE,
  LANGUAGES,
  parseLaunchTimeout,
  type Language,
  type PortRange,
} from './validators.js';
import { parseImageReference } from '../contract/images.js';
import { DEFAULT_LAUNCH_TIMEOUT } from '../contract/defaults.js';
import { SPARK_INIT_MODES, type SparkInitMode } from '../contract/spark-init-modes.js';
import type { LogLevel } from '../logging.js';

/** The reference's class for provisioner settings; config files may use it as a section. */
export const PROVISIONER_SECTION = 'RemoteProvisionerConfigMixin';

export const authorizedUsersOption = defineOption<string[]>({
  name: 'authorized_users',
  kind: 'list',
  section: PROVISIONER_SECTION,
  help:
    "List of user names against which KERNEL_USERNAME will be compared. Any match (case-insensitive after Unicode NFKC normalization, so Root and root are one user: usernames name lower-case pods and namespaces; KERNEL_USERNAME must have no surrounding whitespace or control characters) will allow the kernel's launch, otherwise an HTTP 403 (Forbidden) error will be raised. The set of unauthorized users takes precedence. This option should be used carefully as it can dramatically limit who can launch kernels. To specify multiple names via the CLI, repeat the option or separate names with commas.",
  default: [],
  env: 'GP_AUTHORIZED_USERS',
  envNote: 'non-bracketed, just comma-separated',
  metavar: '<user>...',
});

export const unauthorizedUsersOption = defineOption<string[]>({
  name: 'unauthorized_users',
  kind: 'list',
  section: PROVISIONER_SECTION,
  help:
    "List of user names against which KERNEL_USERNAME will be compared. Any match (case-insensitive after Unicode NFKC normalization, so Root and root are one user: usernames name lower-case pods and namespaces; KERNEL_USERNAME must have no surrounding whitespace or control characters) will prevent the kernel's launch and result in an HTTP 403 (Forbidden) error. To specify multiple names via the CLI, repeat the option or separate names with commas.",
  default: ['root'],
  env: 'GP_UNAUTHORIZED_USERS',
  envNote: 'non-bracketed, just comma-separated',
  metavar: '<user>...',
});

export const portRangeOption = defineOption<PortRange>({
  name: 'port_range',
  kind: 'port-range',
  section: PROVISIONER_SECTION,
  help:
    "Specifies the lower and upper port numbers from which ports are created. The bounded values are separated by '..' (e.g., 33245..34245 specifies a range of 1000 ports to be randomly selected). Both ends must be in 1024..65535 and the range must span at least 1000 ports (GP_MIN_PORT_RANGE_SIZE changes this minimum). A range of zero (e.g., 33245..33245 or 0..0) disables port-range enforcement.",
  default: DISABLED_PORT_RANGE,
  env: 'GP_PORT_RANGE',
});

export const launchTimeoutOption = defineOption<number>({
  name: 'launch_timeout',
  kind: 'int',
  section: PROVISIONER_SECTION,
  help: 'Number of seconds to wait for the kernel to start and report its connection information before giving up. Must be a positive integer.',
  default: DEFAULT_LAUNCH_TIMEOUT,
  env: ['GP_LAUNCH_TIMEOUT', 'KERNEL_LAUNCH_TIMEOUT'],
  parse: (raw, ctx) => parseLaunchTimeout(raw, ctx.option, ctx.source),
});

export const imageNameOption = defineOption<string | undefined>({
  name: 'image_name',
  kind: 'string',
  section: PROVISIONER_SECTION,
  help: 'The kernel image to use for this kernel specification. If this specification is enabled for Spark usage, this image will be the driver image.',
  default: undefined,
  env: 'GP_IMAGE_NAME',
  parse: (raw, ctx) => parseImageReference(raw, ctx.option, ctx.source),
});

export const executorImageNameOption = defineOption<string | undefined>({
  name: 'executor_image_name',
  kind: 'string',
  section: PROVISIONER_SECTION,
  help: 'The executor image to use for this kernel specification. Only applies to Spark-enabled kernel specifications. Defaults to the kernel image.',
  default: undefined,
  env: 'GP_EXECUTOR_IMAGE_NAME',
  parse: (raw, ctx) => parseImageReference(raw, ctx.option, ctx.source),
});

export const languageOption = defineOption<Language>({
  name: 'language',
  kind: 'enum',
  section: 'BaseSpecApp',
  help: "The language of the kernel referenced in the kernel specification. Must be one of 'Python', 'R', or 'Scala' (case-insensitive).",
  default: 'Python',
  choices: LANGUAGES,
  metavar: '<Python|R|Scala>',
});

export const sparkInitModeOption = defineOption<SparkInitMode>({
  name: 'spark_init_mode',
  kind: 'enum',
  section: 'BaseSpecSparkApp',
  help: "Spark context initialization mode. Must be one of 'lazy', 'eager' or 'none'.",
  default: 'lazy',
  choices: SPARK_INIT_MODES,
  metavar: '<lazy|eager|none>',
});

export const logLevelOption = defineOption<LogLevel>({
  name: 'log_level',
  kind: 'log-level',
  section: 'Application',
  help: 'Set the log level by value or name.',
  default: 'info',
  env: 'GP_LOG_LEVEL',
});
