// Test helper: a kernel WebSocket (Jupyter's JSON protocol) that records every message and runs cells.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface CellOutcome {
  msgId: string;
  status: string;
  stdout: string;
  result?: string;
  ename?: string;
}

export class KernelSocket {
  readonly messages: any[] = [];
  private readonly checks = new Set<() => void>();
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()));
      for (const check of [...this.checks]) check();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const check of [...this.checks]) check();
    });
    ws.on('error', () => undefined);
  }

  /** Opens `url` (…/api/kernels/<id>/channels?token=…); rejects when refused. */
  static async open(url: string): Promise<KernelSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    });
    return new KernelSocket(ws);
  }

  /** Sends a cell without waiting; returns its message id. */
  send(code: string): string {
    const msgId = randomUUID();
    this.ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'alice', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
        buffers: [],
      }),
    );
    return msgId;
  }

  execute(code: string): Promise<CellOutcome> {
    return this.result(this.send(code));
  }

  /** Resolves when the messages satisfy `done`; rejects if the WebSocket closes first. */
  until(done: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (done()) resolve();
        else if (this.closed) reject(new Error('the WebSocket closed first'));
        else return;
        this.checks.delete(check);
      };
      this.checks.add(check);
      check();
    });
  }

  /** The cell's outcome once the kernel is idle after it; rejects if the WebSocket closes first. */
  async result(msgId: string): Promise<CellOutcome> {
    const mine = (): any[] => this.messages.filter((m) => m.parent_header?.msg_id === msgId);
    await this.until(() => mine().some((m) => m.header.msg_type === 'execute_reply') && mine().some((m) => m.content?.execution_state === 'idle'));
    const reply = mine().find((m) => m.header.msg_type === 'execute_reply');
    const result = mine().find((m) => m.header.msg_type === 'execute_result')?.content.data['text/plain'];
    return {
      msgId,
      status: reply.content.status,
      stdout: mine()
        .filter((m) => m.header.msg_type === 'stream')
        .map((m) => m.content.text)
        .join(''),
      ...(result ? { result } : {}),
      ...(reply.content.ename ? { ename: reply.content.ename } : {}),
    };
  }

  close(): void {
    this.ws.close();
  }
}
