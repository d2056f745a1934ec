// @gp/core: options, typed errors, logging, and the kernel connection protocol.
// The public surface, by concept. Every name here is imported by another package or app of this repo or
// documented in a README of this package; anything else stays internal (import it from its module in tests).

// Typed errors (every gp error is a GpError with a stable code).
export { AuthorizationError, ConfigError, GpError, isGpError, type GpErrorOptions, type ValueSource } from './errors.js';

// Structured logging (tokens and keys redacted).
export {
  createLogger,
  createMemoryLogger,
  redact,
  silentLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogRecord,
  type MemoryLogger,
} from './logging.js';

// Option definitions: one definition per option; flags, --help, env and config files derive from it.
export {
  defineOption,
  defineOptions,
  type AnyOptionDef,
  type FlagAlias,
  type OptionDef,
  type OptionDefs,
  type OptionInit,
  type OptionKind,
  type OptionTable,
  type ParseContext,
  type TableInit,
  type ValuesOf,
} from './config/options.js';
export {
  authorizedUsersOption,
  executorImageNameOption,
  imageNameOption,
  languageOption,
  launchTimeoutOption,
  logLevelOption,
  portRangeOption,
  sparkInitModeOption,
  unauthorizedUsersOption,
} from './config/shared.js';

// Resolving options: defaults < config file < GP_* env < flags.
export { resolveConfig, type ConfigSources, type FlagValue, type ResolvedConfig } from './config/resolve.js';
export { parseFlags, type ParsedFlags, type ParseFlagsOptions } from './config/argv.js';
export { configSearchPath, findDefaultConfigFile, loadConfigFile, pythonConfigFiles } from './config/file.js';
export { jupyterDataDir, kernelsDir, prefixJupyterPath, systemJupyterPaths, type KernelsDestination } from './config/paths.js';

// Validators shared by every gp program.
export {
  kernelJsonLanguage,
  minPortRangeSize,
  normalizeKernelName,
  parseBoolean,
  parseInteger,
  parseLanguage,
  parseLaunchTimeout,
  parseLogLevel,
  parsePortRange,
  parsePythonClassName,
  parseUserList,
  portRangeToString,
  splitCommaList,
  userListIncludes,
  usernameKey,
  validateUsername,
  type Language,
  type PortRange,
} from './config/validators.js';

// The kernel contract (see ./contract/README.md): the facts kernelspec, launcher, provisioner, RBAC and
// gateway share, each stated once.
export {
  DNS1123_LABEL_MAX,
  DNS1123_LABEL_RULE,
  DNS1123_SUBDOMAIN_RULE,
  isDns1123Label,
  isDns1123Subdomain,
  isLabelValue,
  kernelResourceName,
  LABEL_VALUE_RULE,
  sanitizeDns1123,
  shortHash,
  toDns1123Label,
  toLabelValue,
} from './contract/names.js';
export { NAMESPACE_MODE_ALIASES, NAMESPACE_MODES, namespaceModeOf, parseNamespaceMode, type NamespaceMode } from './contract/namespace-modes.js';
export { isSparkInitMode, parseSparkInitMode, SPARK_INIT_MODES, type SparkInitMode } from './contract/spark-init-modes.js';
export { IMAGE_REFERENCE_PATTERN, MAX_IMAGE_REFERENCE_LENGTH, parseImageReference } from './contract/images.js';
export {
  AUTOMATIC_SERVICE_ACCOUNT,
  DEFAULT_APP_NAME,
  DEFAULT_KERNEL_CLUSTER_ROLE,
  DEFAULT_KERNEL_GID,
  DEFAULT_KERNEL_SERVICE_ACCOUNT,
  DEFAULT_KERNEL_UID,
  DEFAULT_LAUNCH_TIMEOUT,
  DEFAULT_NAMESPACE,
  KERNEL_COMPONENT,
} from './contract/defaults.js';
export {
  ARGV_PLACEHOLDER_ARGS,
  LAUNCHER_SCRIPTS,
  LAUNCHER_TEMPLATES,
  launcherKindOfScript,
  PROVISIONER_NAMES,
  substituteArgv,
  type ArgvValues,
  type KernelJson,
  type KernelProvisionerMetadata,
  type LauncherKind,
  type LauncherScript,
  type ProvisionerName,
  type TemplateName,
  type WrittenKernelJson,
} from './contract/kernel-json.js';
export {
  KERNEL_ENV,
  kernelEnvMarkdown,
  kernelEnvNames,
  kernelEnvVariable,
  parseKernelEnv,
  parseKernelQuantity,
  parseNumericId,
  type KernelEnvSetter,
  type KernelEnvVariable,
} from './contract/kernel-env.js';
export { kernelRoleBinding, type KernelRoleBinding, type KernelRoleBindingInit } from './contract/kernel-role-binding.js';
export {
  ceilQuantity,
  compareQuantities,
  isNegative,
  isWholeNumber,
  parseQuantity,
  toMebibytesCeil,
  type Quantity,
} from './contract/quantity.js';

// The kernel connection protocol (see ./protocol/README.md): the response listener and its settings,
// response payloads and keys, comm-port requests, and the Jupyter wire protocol.
export {
  RESPONSE_VERSIONS_ENV,
  ResponseListener,
  responseListenerOptionsFromEnv,
  sharedResponseListener,
  type RegisterOptions,
  type ResponseListenerOptions,
  type ResponseRegistration,
  type VersionRefusal,
} from './protocol/listener.js';
export { RESPONSE_LISTENER_OPTIONS, responseListenerEnvMarkdown } from './protocol/listener-options.js';
export type { KernelConnectionInfo, ResponseVersion } from './protocol/types.js';
export {
  CommRequestError,
  ResponseListenerError,
  ResponsePayloadError,
  ResponseWaitError,
  type ResponsePayloadRejection,
} from './protocol/errors.js';
export { createResponseKeyPair, DEFAULT_RESPONSE_KEY_BITS, type ResponseKeyPair } from './protocol/keys.js';
export {
  decodeResponsePayload,
  encodeResponsePayload,
  type DecodeOptions,
  type EncodeOptions,
  type ResponseEnvelope,
} from './protocol/payload.js';
export {
  checkTransportEncryptionResponse,
  hasCurveKeys,
  isCurveKey,
  kernelSpecPassesPolicy,
  kernelSpecSupportsCurve,
  parseTransportEncryptionPolicy,
  resolveTransportEncryption,
  TRANSPORT_ENCRYPTION_ENV,
  TRANSPORT_ENCRYPTION_POLICIES,
  TransportEncryptionError,
  transportEncryptionOption,
  type KernelSpecEncryptionView,
  type ResolvedTransportEncryption,
  type ResolveTransportEncryptionOptions,
  type TransportEncryptionPolicy,
} from './protocol/transport-encryption.js';
export { sendCommRequest, type CommRequest, type CommRequestOptions, type CommResult, type CommTarget } from './protocol/comm.js';
export {
  createMessageHeader,
  deserializeMessage,
  MessageSigner,
  serializeMessage,
  WireProtocolError,
  type DeserializedMessage,
  type JupyterMessage,
  type JupyterMessageHeader,
} from './protocol/wire.js';
