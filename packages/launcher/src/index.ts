// @gp/launcher: creating a kernel's Kubernetes resources, and following kernels through their life.
export * from './launch.js';
export * from './crd.js';
export * from './inputs.js';
export * from './env.js';
export * from './errors.js';
export * from './manifests.js';
export * from './names.js';
export * from './quantity.js';
export * from './spark.js';
export { ADMIN_OWNED_SPARK_KEYS, CLIENT_KUBERNETES_KEYS, SparkOptionsError, checkClientSparkOpts, sparkSubmitArgs, splitShellWords, type ShellWordsOptions } from './spark-opts.js';
export { createKubeClient, loadKubeConfig, resourcePath, type KubeClient, type KubeRequest } from './kube.js';
export { observeKubeRequests, reportKubeRequest, resourceOfPath, verbOf, type KubeRequestEvent, type KubeRequestObserver, type KubeVerb } from './kube-observer.js';
export { KERNEL_POD_TEMPLATE, loadTemplate, templateVars, type TemplateSource } from './render.js';
/** The request variables the templates parse into volume and mount lists (the mount-bearing ones). */
export { LIST_VARIABLES as VOLUME_LIST_VARIABLES } from '@gp/templates';
export * from './watch/index.js';
export * from './provisioner/index.js';
