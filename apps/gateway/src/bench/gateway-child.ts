/**
 * The benchmarks' gateway in a process of its own (gateway-process.ts), started with `fork` (IPC) so that its
 * memory and file descriptors are measured without the benchmark's clients.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestCluster } from '@gp/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..', '..');

/** A gateway in its own process (see gateway-process.ts). */
export class GatewayProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
  ) {}

  static async start(cluster: TestCluster, namespace: string, kernelsDir: string, stateDir: string, extra: Record<string, unknown> = {}): Promise<GatewayProcess> {
    const settings = {
      ip: '127.0.0.1',
      port: 0,
      token: randomUUID(),
      kernelspec_dirs: [kernelsDir],
      state_file: join(stateDir, `kernels-${namespace}.json`),
      orphan_namespaces: [namespace],
      log_level: 'warn',
      allowed_env: ['KERNEL_USERNAME'],
      ...extra,
    };
    const child = fork(join(here, 'gateway-process.ts'), [], {
      cwd: appDir,
      execArgv: ['--conditions=@gp/source', '--import', 'tsx', '--expose-gc'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? stateDir, KUBECONFIG: cluster.kubeconfigPath, GP_NAMESPACE: namespace, GP_BENCH_GATEWAY: JSON.stringify(settings) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before it was ready`)));
      child.on('message', (m: { type: string; url: string; token: string }) => {
        if (m.type === 'ready') resolve(m);
      });
    });
    return new GatewayProcess(child, ready.url, ready.token);
  }

  /** The gateway process's id (for /proc/<pid>/fd). */
  get pid(): number {
    return this.child.pid!;
  }

  memory(): Promise<NodeJS.MemoryUsage> {
    return new Promise((resolve) => {
      const onMessage = (m: { type: string; usage: NodeJS.MemoryUsage }): void => {
        if (m.type !== 'memory') return;
        this.child.off('message', onMessage);
        resolve(m.usage);
      };
      this.child.on('message', onMessage);
      this.child.send({ type: 'memory' });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'close' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 120_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
