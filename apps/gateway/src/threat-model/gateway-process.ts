/**
 * The `gp-gateway` command run from source in a process of its own, as the threat-model tests attack it:
 * whether it is still alive is the first thing they check. Without a cluster it points at a Kubernetes API
 * server that is not there (nothing on the connection side needs one; the orphan sweep logs its failure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@gp/testkit';

const BIN = join(repoRoot, 'apps', 'gateway', 'src', 'bin', 'gp-gateway.ts');

export interface GatewayProcessOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Runs the command under `prlimit` with these limits, e.g. `['--nofile=200']`. */
  prlimit?: string[];
  /** A kubeconfig path; default: one pointing at an API server that is not there. */
  kubeconfig?: string;
}

export class GatewayProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private constructor(
    readonly proc: ChildProcess,
    private readonly home: string,
  ) {
    proc.stdout!.on('data', (d) => (this.stdout += d));
    proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /** Starts the command; does not wait for it to serve (see `url()`). */
  static spawn(o: GatewayProcessOptions = {}): GatewayProcess {
    const home = mkdtempSync(join(tmpdir(), 'gp-threat-gw-'));
    let kubeconfig = o.kubeconfig;
    if (!kubeconfig) {
      kubeconfig = join(home, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
      );
    }
    const command = [process.execPath, '--conditions=@gp/source', '--import', 'tsx', BIN, ...(o.args ?? [])];
    const [file, ...args] = o.prlimit ? ['prlimit', ...o.prlimit, '--', ...command] : command;
    const proc = spawn(file!, args, {
      cwd: join(repoRoot, 'apps', 'gateway'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        JUPYTER_DATA_DIR: join(home, 'data'),
        KUBECONFIG: kubeconfig,
        GP_NAMESPACE: 'default',
        GP_RESPONSE_IP: '127.0.0.1',
        GP_RESPONSE_PORT: '0',
        GP_GATEWAY_PORT: '0',
        GP_GATEWAY_KERNELSPEC_DIRS: join(home, 'kernels'),
        GP_GATEWAY_LOG_FORMAT: 'json',
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new GatewayProcess(proc, home);
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The URL it prints once it serves. */
  async url(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const url = /^(http:\/\/\S+)$/m.exec(this.stdout)?.[1];
      if (url) return url;
      if (!this.alive) throw new Error(`gp-gateway exited (${this.proc.exitCode}) before serving: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`gp-gateway did not serve within ${timeoutMs} ms: ${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The JSON log lines it wrote to stderr. */
  logs(): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    if (this.alive) {
      this.proc.kill('SIGTERM');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (this.alive) this.proc.kill('SIGKILL');
    }
    rmSync(this.home, { recursive: true, force: true });
  }
}
