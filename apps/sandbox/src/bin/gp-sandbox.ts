#!/usr/bin/env node
// The gp-sandbox command: start everything, print the URL, stop everything on Ctrl-C (SIGINT) or SIGTERM.
import { isGpError } from '@gp/core';
import { helpText, settingsFromCommandLine, TRY_OUT_NOTICE } from '../cli.js';
import { Sandbox, type SandboxReady } from '../sandbox.js';

const log = (line: string): void => void process.stderr.write(`gp-sandbox: ${line}\n`);

function banner(ready: SandboxReady): string {
  const lines = [
    '',
    '  JupyterLab with kernels as pods is ready. Open:',
    '',
    `    ${ready.labUrl}`,
    '',
    `  Kernels: ${ready.kernels.map((k) => `"${k.displayName}"`).join(', ')} (each runs as a pod: gp-gateway at ${ready.gatewayUrl} creates it).`,
    `  Notebooks: ${ready.notebookDir}${ready.notebookDir.startsWith(ready.dir) ? ' (deleted on stop; --notebook-dir=<dir> keeps them)' : ''}`,
    `  Logs: ${ready.dir}/logs (gp-gateway, jupyterlab), ${ready.clusterDir}/logs (control plane), ${ready.clusterDir}/pod-logs (kernel pods)`,
  ];
  if (ready.kubeconfigPath) {
    lines.push('  To watch the kernel pods with kubectl, in another shell:', '', `    export KUBECONFIG=${ready.kubeconfigPath}`, '    kubectl get pods --watch', '');
  } else {
    lines.push('  To watch the kernel pods with kubectl, start it with --kubeconfig.');
  }
  lines.push('  Ctrl-C stops everything.', '');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const parsed = settingsFromCommandLine(process.argv.slice(2), process.env);
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  log(TRY_OUT_NOTICE);
  const sandbox = new Sandbox({ settings: parsed.settings, given: parsed.given, log });
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let requestStop: (signal: NodeJS.Signals) => void = () => {};
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (requestStop = resolve));
  process.on('exit', () => sandbox.killSync());
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase !== 'running') {
      // While starting, or a second signal while stopping: kill everything now (the cluster goes with the exit).
      log(`${signal}: stopping at once`);
      sandbox.killSync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    phase = 'stopping';
    requestStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let info: SandboxReady;
  try {
    info = await sandbox.start();
  } catch (e) {
    phase = 'stopping';
    await sandbox.stop();
    throw e;
  }
  phase = 'running';
  process.stdout.write(`${banner(info)}\n`);
  const code = await Promise.race([
    stopRequested.then((signal) => {
      log(`${signal}: stopping JupyterLab, gp-gateway (and its kernel pods), the control plane`);
      return 0;
    }),
    sandbox.failed.then((e) => {
      log(`${e.message}\nstopping the rest`);
      return 1;
    }),
  ]);
  phase = 'stopping';
  await sandbox.stop();
  log('stopped; nothing left running');
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Typed errors (gp's, and the testkit's build/start errors) are messages for a person; anything else is a bug.
    const tagged = (e as { code?: unknown } | null)?.code;
    const code = e instanceof Error && typeof tagged === 'string' && tagged.startsWith('GP_') ? tagged : undefined;
    process.stderr.write(`gp-sandbox: ${code ? `${(e as Error).message} [${code}]` : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(isGpError(e) && e.code === 'GP_INVALID_CONFIG' ? 2 : 1);
  },
);
