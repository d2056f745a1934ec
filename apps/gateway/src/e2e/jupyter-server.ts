/**
 * Jupyter Server from the test venv pointed at a gateway (`--gateway-url`), with any extra GatewayClient flags
 * and environment, plus a minimal kernel WebSocket client that runs code through it. For k8s tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testPythonBin, waitFor } from '@gp/testkit';
import WebSocket from 'ws';

export interface JupyterServerOptions {
  port: number;
  gatewayUrl: string;
  gatewayToken: string;
  /** Where its config, data, runtime and work directories go. */
  dir: string;
  /** Extra command-line flags (e.g. --GatewayClient.ca_certs=...). */
  flags?: string[];
  /** Its environment's KERNEL_* variables (forwarded to every kernel request). */
  kernelEnv?: Record<string, string>;
  /** Other environment variables (e.g. SSL_CERT_FILE). */
  env?: Record<string, string>;
}

export class TestJupyterServer {
  readonly url: string;
  readonly token = randomUUID();
  private readonly proc: ChildProcess;
  private output = '';

  constructor(o: JupyterServerOptions) {
    this.url = `http://127.0.0.1:${o.port}`;
    mkdirSync(join(o.dir, 'work'), { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KERNEL_') && !k.startsWith('JUPYTER_')) env[k] = v;
    Object.assign(env, {
      JUPYTER_CONFIG_DIR: join(o.dir, 'config'),
      JUPYTER_DATA_DIR: join(o.dir, 'data'),
      JUPYTER_RUNTIME_DIR: join(o.dir, 'runtime'),
      JUPYTER_PLATFORM_DIRS: '1',
      KERNEL_LAUNCH_TIMEOUT: '110',
      ...o.kernelEnv,
      ...o.env,
    });
    this.proc = spawn(
      join(testPythonBin(), 'jupyter'),
      [
        'server',
        '--no-browser',
        '--allow-root',
        '--ip=127.0.0.1',
        `--port=${o.port}`,
        '--ServerApp.port_retries=0',
        `--IdentityProvider.token=${this.token}`,
        `--ServerApp.root_dir=${join(o.dir, 'work')}`,
        `--gateway-url=${o.gatewayUrl}`,
        `--GatewayClient.auth_token=${o.gatewayToken}`,
        ...(o.flags ?? []),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout!.on('data', (d) => (this.output += d));
    this.proc.stderr!.on('data', (d) => (this.output += d));
  }

  async ready(): Promise<void> {
    await waitFor(
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`jupyter server exited: ${this.output.slice(-2000)}`);
        try {
          // /api, not /api/status: the latter asks the gateway, which may refuse this server (the refusal tests).
          return (await fetch(`${this.url}/api?token=${this.token}`)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 90_000, description: 'Jupyter Server to serve' },
    );
  }

  async request(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, { ...init, headers: { 'Content-Type': 'application/json', Authorization: `token ${this.token}` } });
    const text = await res.text();
    try {
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      return { status: res.status, body: text };
    }
  }

  /** Runs `code` on the kernel through Jupyter Server's WebSocket; resolves with the execute_result's text/plain and stdout. */
  async execute(kernelId: string, code: string): Promise<{ status: string; result?: string; stdout: string }> {
    const ws = new WebSocket(`${this.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${this.token}&session_id=${randomUUID()}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    });
    const msgId = randomUUID();
    const out: { status: string; result?: string; stdout: string } = { status: 'unknown', stdout: '' };
    try {
      return await new Promise((resolve, reject) => {
        let replied = false;
        let idle = false;
        ws.on('close', () => reject(new Error('the WebSocket closed before the execution finished')));
        ws.on('message', (data) => {
          const msg = JSON.parse(data.toString());
          if (msg.parent_header?.msg_id !== msgId) return;
          const type = msg.header.msg_type;
          if (msg.channel === 'shell' && type === 'execute_reply') {
            out.status = msg.content.status;
            replied = true;
          } else if (type === 'execute_result') out.result = msg.content.data['text/plain'];
          else if (type === 'stream') out.stdout += msg.content.text;
          else if (type === 'status' && msg.content.execution_state === 'idle') idle = true;
          if (replied && idle) resolve(out);
        });
        const header = { msg_id: msgId, msg_type: 'execute_request', session: 'test-session', username: 'alice', date: new Date().toISOString(), version: '5.3' };
        ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, buffers: [] }));
      });
    } finally {
      ws.close();
    }
  }

  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
