/**
 * A small Jupyter messaging client over ZeroMQ (protocol 5.3), enough for tests and the gateway to
 * talk to a kernel given its connection information: kernel_info, execute, shutdown, heartbeat.
 * Interrupts go through the host (the launcher's comm port), not through this client.
 */
import { randomUUID } from 'node:crypto';
import { MessageSigner, createMessageHeader, deserializeMessage, serializeMessage, type JupyterMessage } from '@gp/core';
import * as zmq from 'zeromq';

export type { JupyterMessage } from '@gp/core';

/** The connection fields this client needs (structurally compatible with @gp/core's KernelConnectionInfo). */
export interface JupyterConnectionInfo {
  ip: string;
  transport: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  /** CurveZMQ keys of an encrypted kernel (Z85): the client connects as a curve client with them. */
  curve_publickey?: string;
  curve_secretkey?: string;
}

export interface ExecuteResult {
  /** execute_reply status: ok, error or aborted. */
  status: string;
  executionCount?: number;
  /** text/plain of the execute_result (and display_data) messages, joined by newlines. */
  result?: string;
  stdout: string;
  stderr: string;
  error?: { ename: string; evalue: string; traceback: string[] };
}

export interface JupyterClientOptions {
  /** Host to connect to; default the connection info's ip, or 127.0.0.1 when that is 0.0.0.0. */
  host?: string;
  username?: string;
}

export class JupyterClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JupyterClientError';
  }
}

type Waiter = (msg: JupyterMessage) => void;

export class JupyterKernelClient {
  readonly session = randomUUID();
  private readonly shell: zmq.Dealer;
  private readonly control: zmq.Dealer;
  private readonly stdin: zmq.Dealer;
  private readonly iopub: zmq.Subscriber;
  private readonly curve: { curveServerKey?: string; curvePublicKey?: string; curveSecretKey?: string };
  private readonly replyWaiters = new Map<string, Waiter>();
  private readonly iopubWaiters = new Map<string, Waiter>();
  private readonly signer: MessageSigner;
  private readonly username: string;
  private readonly base: string;
  private hbPort: number;
  private closed = false;

  private constructor(info: JupyterConnectionInfo, options: JupyterClientOptions) {
    if (info.signature_scheme && info.signature_scheme !== 'hmac-sha256') {
      throw new JupyterClientError(`Unsupported signature scheme '${info.signature_scheme}': only hmac-sha256.`);
    }
    this.signer = new MessageSigner(info.key, 'hmac-sha256');
    this.curve = info.curve_publickey && info.curve_secretkey
      ? { curveServerKey: info.curve_publickey, curvePublicKey: info.curve_publickey, curveSecretKey: info.curve_secretkey }
      : {};
    this.shell = new zmq.Dealer({ linger: 0, ...this.curve });
    this.control = new zmq.Dealer({ linger: 0, ...this.curve });
    this.stdin = new zmq.Dealer({ linger: 0, ...this.curve });
    this.iopub = new zmq.Subscriber({ linger: 0, ...this.curve });
    this.username = options.username ?? 'gp-test';
    const host = options.host ?? (info.ip === '0.0.0.0' || info.ip === '' ? '127.0.0.1' : info.ip);
    this.base = `${info.transport || 'tcp'}://${host}`;
    this.hbPort = info.hb_port;
    this.shell.connect(`${this.base}:${info.shell_port}`);
    this.control.connect(`${this.base}:${info.control_port}`);
    this.stdin.connect(`${this.base}:${info.stdin_port}`);
    this.iopub.connect(`${this.base}:${info.iopub_port}`);
    this.iopub.subscribe();
    void this.pump(this.shell, this.replyWaiters);
    void this.pump(this.control, this.replyWaiters);
    void this.pump(this.iopub, this.iopubWaiters);
  }

  /**
   * Connects and waits until the kernel answers kernel_info and its iopub channel delivers
   * (avoiding ZeroMQ's slow-joiner loss of the first iopub messages).
   */
  static async connect(
    info: JupyterConnectionInfo,
    options: JupyterClientOptions & { timeoutMs?: number } = {},
  ): Promise<JupyterKernelClient> {
    const client = new JupyterKernelClient(info, options);
    try {
      await client.waitForReady(options.timeoutMs ?? 30_000);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  private async pump(socket: zmq.Dealer | zmq.Subscriber, waiters: Map<string, Waiter>): Promise<void> {
    try {
      for await (const frames of socket) {
        const msg = this.parse(frames);
        if (!msg) continue;
        const parent = msg.parent_header.msg_id;
        if (parent) waiters.get(parent)?.(msg);
      }
    } catch {
      // socket closed
    }
  }

  private parse(frames: Buffer[]): JupyterMessage | undefined {
    try {
      return deserializeMessage(frames, this.signer).message;
    } catch {
      return undefined; // malformed, forged or corrupt: drop
    }
  }

  /** Sends a request; resolves with its reply once (with `onIopub`) the kernel is idle again. */
  private async request(
    socket: zmq.Dealer,
    msgType: string,
    content: Record<string, unknown>,
    timeoutMs: number,
    onIopub?: (msg: JupyterMessage) => void,
  ): Promise<JupyterMessage> {
    if (this.closed) throw new JupyterClientError('The client is closed.');
    const msgId = randomUUID();
    let reply: JupyterMessage | undefined;
    let idle = !onIopub;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<JupyterMessage>((resolve, reject) => {
        const check = (): void => {
          if (reply && idle) resolve(reply);
        };
        timer = setTimeout(
          () => reject(new JupyterClientError(`No ${msgType.replace('_request', '_reply')} within ${timeoutMs} ms.`)),
          timeoutMs,
        );
        // Register before sending: replies can come back before `send` resolves.
        this.replyWaiters.set(msgId, (m) => {
          reply = m;
          check();
        });
        if (onIopub) {
          this.iopubWaiters.set(msgId, (m) => {
            onIopub(m);
            if (m.header.msg_type === 'status' && (m.content as { execution_state?: string }).execution_state === 'idle') {
              idle = true;
              check();
            }
          });
        }
        const header = { ...createMessageHeader(msgType, this.session, this.username), msg_id: msgId };
        this.sendSerialized(socket, serializeMessage({ header, parent_header: {}, metadata: {}, content }, this.signer)).catch(reject);
      });
    } finally {
      clearTimeout(timer);
      this.replyWaiters.delete(msgId);
      this.iopubWaiters.delete(msgId);
    }
  }

  /** zeromq allows one send in progress per socket: queue them. */
  private readonly sendQueues = new Map<zmq.Dealer, Promise<unknown>>();
  private sendSerialized(socket: zmq.Dealer, frames: Array<Buffer | string>): Promise<void> {
    const previous = this.sendQueues.get(socket) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => socket.send(frames));
    this.sendQueues.set(socket, next);
    return next;
  }

  private async waitForReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      let sawIopub = false;
      try {
        await this.request(this.shell, 'kernel_info_request', {}, Math.min(2000, Math.max(1, deadline - Date.now())), () => {
          sawIopub = true;
        });
        if (sawIopub) return;
      } catch (err) {
        lastError = err;
      }
    }
    throw new JupyterClientError(`The kernel did not become ready within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}.`);
  }

  /** kernel_info_reply content. */
  async kernelInfo(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return (await this.request(this.shell, 'kernel_info_request', {}, timeoutMs)).content;
  }

  /**
   * Starts a cell that prints `sleeping` and then blocks for a minute (Python, or R), for interrupt tests:
   * `sleeping` resolves once the cell is really running, `result` when the kernel is idle again.
   */
  startSleepingCell(language: 'python' | 'R' = 'python', timeoutMs = 55_000): { sleeping: Promise<void>; result: Promise<ExecuteResult> } {
    const code =
      language === 'R'
        ? 'cat("sleeping\\n"); flush(stdout()); Sys.sleep(60); "finished"'
        : 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)';
    let started!: () => void;
    const sleeping = new Promise<void>((resolve) => (started = resolve));
    const result = this.execute(code, {
      timeoutMs,
      onMessage: (m) => {
        if (m.header.msg_type === 'stream' && String((m.content as { text?: string }).text).includes('sleeping')) started();
      },
    });
    // A cell that fails before printing must not leave `sleeping` pending forever.
    void result.then(started, started);
    return { sleeping, result };
  }

  /** Runs code and collects its outputs until the kernel is idle again. */
  async execute(
    code: string,
    options: { timeoutMs?: number; onMessage?: (msg: JupyterMessage) => void } = {},
  ): Promise<ExecuteResult> {
    const out: ExecuteResult = { status: 'unknown', stdout: '', stderr: '' };
    const results: string[] = [];
    const reply = await this.request(
      this.shell,
      'execute_request',
      { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      options.timeoutMs ?? 30_000,
      (m) => {
        options.onMessage?.(m);
        const c = m.content as Record<string, unknown>;
        switch (m.header.msg_type) {
          case 'stream':
            if (c.name === 'stderr') out.stderr += String(c.text ?? '');
            else out.stdout += String(c.text ?? '');
            break;
          case 'execute_result':
          case 'display_data': {
            const text = (c.data as Record<string, unknown> | undefined)?.['text/plain'];
            if (typeof text === 'string') results.push(text);
            break;
          }
          case 'error':
            out.error = { ename: String(c.ename), evalue: String(c.evalue), traceback: (c.traceback as string[]) ?? [] };
            break;
        }
      },
    );
    const c = reply.content as Record<string, unknown>;
    out.status = String(c.status);
    if (typeof c.execution_count === 'number') out.executionCount = c.execution_count;
    if (out.status === 'error' && !out.error) {
      out.error = { ename: String(c.ename), evalue: String(c.evalue), traceback: (c.traceback as string[]) ?? [] };
    }
    if (results.length > 0) out.result = results.join('\n');
    return out;
  }

  /** shutdown_request on the control channel; resolves with the reply content. */
  async shutdown(options: { restart?: boolean; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const reply = await this.request(this.control, 'shutdown_request', { restart: options.restart ?? false }, options.timeoutMs ?? 10_000);
    return reply.content;
  }

  /** One heartbeat round trip; false if none within `timeoutMs`. */
  async heartbeat(timeoutMs = 2000): Promise<boolean> {
    const req = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs, ...this.curve });
    try {
      req.connect(`${this.base}:${this.hbPort}`);
      const ping = Buffer.from(randomUUID());
      await req.send(ping);
      const [pong] = await req.receive();
      return !!pong && pong.equals(ping);
    } catch {
      return false;
    } finally {
      req.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) s.close();
    this.replyWaiters.clear();
    this.iopubWaiters.clear();
  }
}
