/**
 * The kernelspec launch scripts' command line: thin shells over `launchKernelResources` / `launchCustomResource`.
 * One clear error line and a non-zero exit on bad arguments or failed launches.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createLogger, isGpError, RESPONSE_VERSIONS_ENV } from '@gp/core';
import { launchCustomResource, planCustomResource } from './crd.js';
import { readHostSettings, type Env } from './env.js';
import type { LaunchRequest, SparkInitMode as SparkContextInitMode } from './inputs.js';
import { launchKernelResources, planKernelResources } from './launch.js';
import type { Manifest } from './manifests.js';
import { sparkSubmitOptions } from './spark.js';

export type { LauncherKind } from '@gp/core';
import type { LauncherKind } from '@gp/core';

export interface CliIo {
  argv: string[];
  env: Env;
  /** Directory of the running script: the kernelspec's `scripts/`, where its templates are. */
  scriptDir: string;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const USAGE = (kind: LauncherKind) => `Usage: launch_${kind}.mjs --kernel-id ID --response-address HOST:PORT --public-key KEY [options]

Creates a Jupyter kernel's Kubernetes resources (${kind === 'kubernetes' ? 'the kernel pod and what its template renders' : 'a SparkApplication'})
from the template next to this script, in the namespace chosen by GP_SHARED_NAMESPACE / GP_NAMESPACE /
KERNEL_NAMESPACE. Reads KERNEL_* (the kernel's request) and GP_* (the host's settings) from the environment.

Options:
  --kernel-id ID                           the kernel's id (required)
  --response-address HOST:PORT             where the kernel sends its connection info (required)
  --public-key KEY                         the host's base64 public key (required)
  --port-range LOW..HIGH                   ports the kernel may use (default 0..0: any)
  --spark-context-initialization-mode M    lazy, eager or none (default none)
  --kernel-class-name CLASS                the Python kernel class
  --transport-encryption POLICY            auto or required: the kernel's launcher provisions CurveZMQ keys
                                           (passed to the pod as TRANSPORT_ENCRYPTION); empty or disabled: none
${kind === 'kubernetes' ? `  --pod-template FILE                      write the rendered pod to FILE for spark-submit; create nothing
  --spark-opts-out FILE                    with --pod-template: write the derived spark-submit options to FILE
` : ''}  --dry-run                                print every manifest that would be created, as YAML; create nothing
  --help                                   show this help
`;

class UsageError extends Error {}

function toYaml(docs: Manifest[]): string {
  return docs.map((d) => stringify(d, { version: '1.1', lineWidth: 0 })).join('---\n');
}

export function parseLauncherArgs(kind: LauncherKind, argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      'kernel-id': { type: 'string' },
      'port-range': { type: 'string' },
      'response-address': { type: 'string' },
      'public-key': { type: 'string' },
      'spark-context-initialization-mode': { type: 'string' },
      'kernel-class-name': { type: 'string' },
      'transport-encryption': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...(kind === 'kubernetes' ? { 'pod-template': { type: 'string' as const }, 'spark-opts-out': { type: 'string' as const } } : {}),
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.help) return { help: true as const };
  for (const required of ['kernel-id', 'response-address', 'public-key'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`);
  }
  const v = values as Record<string, string | boolean | undefined>;
  if (v['spark-opts-out'] && !v['pod-template']) throw new UsageError('--spark-opts-out needs --pod-template');
  return { help: false as const, values: v };
}

/** Runs a launcher; returns the exit code. */
export async function runLauncher(kind: LauncherKind, io: CliIo): Promise<number> {
  const name = `launch_${kind}`;
  let parsed: ReturnType<typeof parseLauncherArgs>;
  try {
    parsed = parseLauncherArgs(kind, io.argv);
  } catch (e) {
    io.stderr(`${name}: ${(e as Error).message}\nTry '${name}.mjs --help'.\n`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(USAGE(kind));
    return 0;
  }
  const v = parsed.values;
  const logger = createLogger({ name, write: (line) => io.stderr(line + '\n') });
  try {
    const request: LaunchRequest = {
      kernelId: String(v['kernel-id']),
      responseAddress: String(v['response-address']),
      publicKey: String(v['public-key']),
      env: io.env,
      settings: readHostSettings(io.env),
      defaultUsername: safeUsername(),
    };
    if (typeof v['port-range'] === 'string') request.portRange = v['port-range'];
    if (typeof v['spark-context-initialization-mode'] === 'string') request.sparkContextInitMode = v['spark-context-initialization-mode'] as SparkContextInitMode;
    if (typeof v['kernel-class-name'] === 'string') request.kernelClassName = v['kernel-class-name'];
    if (typeof v['transport-encryption'] === 'string') request.transportEncryption = v['transport-encryption'];
    // A gp host that spawned this script announces what it reads; passed on to the pod's launcher.
    if (io.env[RESPONSE_VERSIONS_ENV]) request.responseVersions = io.env[RESPONSE_VERSIONS_ENV];
    if (basename(io.scriptDir) === 'scripts') request.kernelName = basename(dirname(io.scriptDir));
    const templateDir = io.scriptDir;

    if (kind === 'custom_resource') {
      if (v['dry-run']) {
        io.stdout(toYaml(planCustomResource(request, { templateDir }).manifests));
        return 0;
      }
      await launchCustomResource(request, { templateDir, logger });
      return 0;
    }
    if (typeof v['pod-template'] === 'string') {
      const plan = planKernelResources(request, { templateDir });
      writeFileSync(v['pod-template'], toYaml([plan.pod]));
      if (typeof v['spark-opts-out'] === 'string') writeFileSync(v['spark-opts-out'], sparkSubmitOptions(plan.pod, v['pod-template']) + '\n');
      logger.info(`Wrote the kernel pod template to ${v['pod-template']}`);
      return 0;
    }
    if (v['dry-run']) {
      io.stdout(toYaml(planKernelResources(request, { templateDir }).manifests));
      return 0;
    }
    await launchKernelResources(request, { templateDir, logger });
    return 0;
  } catch (e) {
    if (isGpError(e)) io.stderr(`${name}: error ${e.code}: ${e.message}\n`);
    else io.stderr(`${name}: unexpected error: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

function safeUsername(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
