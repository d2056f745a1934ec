// `pnpm --filter @gp/testkit cluster`: start a test cluster and keep it until Ctrl-C.
// `pnpm --filter @gp/testkit build-cluster`: only build (or find) the binary.
import { ensureClusterBinary } from './binary.js';
import { startCluster } from './cluster.js';

async function main(): Promise<void> {
  if (process.argv.includes('--build-only')) {
    const b = await ensureClusterBinary();
    process.stdout.write(`${b.path}\n`);
    return;
  }
  const cluster = await startCluster();
  process.stdout.write(
    [
      `Test cluster (Kubernetes ${cluster.info.kubernetesVersion}) at ${cluster.apiServerUrl}`,
      `  export KUBECONFIG=${cluster.kubeconfigPath}`,
      `  image table: ${cluster.info.imagesFile}`,
      `  pod logs:    ${cluster.info.podLogDir}`,
      `  logs:        ${cluster.info.logDir}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await cluster.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
