/**
 * The benchmark's gateway, in a process of its own so that its memory is measured without the benchmark's
 * clients. Started by gateway.bench.ts with `fork` (IPC): settings come in `GP_BENCH_GATEWAY` (JSON), the
 * cluster from `KUBECONFIG`, provisioner settings (`GP_NAMESPACE`...) from the environment.
 *
 * Messages: it sends `{ type: 'ready', url, token }`; it answers `{ type: 'memory' }` with
 * `{ type: 'memory', usage }` after two forced GCs (run with --expose-gc), and `{ type: 'close' }` by stopping
 * every kernel and exiting.
 */
import { startGateway } from '../gateway.js';
import type { GatewayOptions } from '../options.js';

type Request = { type: 'memory' } | { type: 'close' };

const send = (message: unknown): void => {
  process.send?.(message);
};

const settings = JSON.parse(process.env.GP_BENCH_GATEWAY ?? '{}') as Partial<GatewayOptions>;
const gateway = await startGateway({ ...settings, hostEnv: process.env, responseListener: { ip: '127.0.0.1', port: 0 } });
send({ type: 'ready', url: gateway.url, token: gateway.token });

process.on('message', (message: Request) => {
  if (message.type === 'memory') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    send({ type: 'memory', usage: process.memoryUsage() });
  } else if (message.type === 'close') {
    void gateway.close({ stopKernels: true }).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => {
  void gateway.close({ stopKernels: true }).finally(() => process.exit(0));
});
