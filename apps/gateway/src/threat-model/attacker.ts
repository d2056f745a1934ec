/**
 * What the threat-model tests attack with: raw TCP upgrade requests cut off at chosen moments, WebSocket
 * clients that collect what they receive, and the process's open file descriptors.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

/** Where a raw upgrade is cut off with a TCP reset. */
export type ResetAt =
  /** Half of the request line: the HTTP parser's clientError path. */
  | 'mid-request'
  /** Right after the headers, before the gateway answered (before a refusal, or during the kernel lookup). */
  | 'after-request'
  /** A tick later: the gateway is in its (async) kernel lookup or the WebSocket handshake. */
  | 'next-tick'
  /** After the gateway's first answer (a refusal or the 101). */
  | 'after-response';

export const RESET_STAGES: readonly ResetAt[] = ['mid-request', 'after-request', 'next-tick', 'after-response'];

export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends an upgrade request and resets the connection at `at`; resolves once the socket is gone. */
export function upgradeThenReset(port: number, path: string, at: ResetAt, headers: Record<string, string> = {}): Promise<void> {
  const request = upgradeRequest(path, headers);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    socket.once('connect', () => {
      switch (at) {
        case 'mid-request':
          socket.write(request.slice(0, 20));
          setImmediate(() => socket.resetAndDestroy());
          break;
        case 'after-request':
          socket.write(request);
          socket.resetAndDestroy();
          break;
        case 'next-tick':
          socket.write(request, () => setImmediate(() => socket.resetAndDestroy()));
          break;
        case 'after-response':
          socket.write(request);
          socket.once('data', () => socket.resetAndDestroy());
          break;
      }
    });
    // A server that never answers must not hang the test.
    setTimeout(() => socket.resetAndDestroy(), 5000).unref();
  });
}

/** Sends `head` (a request line and headers) as it is and resolves with the status of the answer (0 if none). */
export function rawRequest(port: number, head: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('error', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.once('connect', () => socket.write(head));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) {
        socket.destroy();
        resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0));
      }
    });
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
  });
}

/** The status line and body of the gateway's answer to a raw upgrade request. */
export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('error', reject);
    socket.once('connect', () => socket.write(upgradeRequest(path, headers)));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(data.slice(0, end))?.[1] ?? 0);
      if (status === 101 || data.length >= end + 4 + length) resolve({ status, body: data.slice(end + 4, end + 4 + length), socket });
    });
  });
}

export interface ReceivedMessage {
  channel: string;
  msg_type: string;
  parent_msg_id?: string;
  content: Record<string, unknown>;
}

/** A kernel WebSocket client (Jupyter's legacy JSON protocol) that records everything it receives. */
export class RecordingClient {
  readonly received: ReceivedMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { channel: string; header: { msg_type: string }; parent_header?: { msg_id?: string }; content: Record<string, unknown> };
      this.received.push({ channel: msg.channel, msg_type: msg.header.msg_type, parent_msg_id: msg.parent_header?.msg_id, content: msg.content });
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      }),
    );
  }

  /** Opens; rejects with the HTTP status of a refused upgrade (`WebSocket refused: 503 <body>`). */
  static open(url: string, headers: Record<string, string> = {}): Promise<RecordingClient> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RecordingClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`WebSocket refused: ${res.statusCode} ${body}`)));
      });
    });
  }

  /** Sends an execute_request on shell; returns its msg_id. */
  execute(code: string): string {
    const msgId = randomUUID();
    this.ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'threat', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
        buffers: [],
      }),
    );
    return msgId;
  }

  replyTo(msgId: string): ReceivedMessage | undefined {
    return this.received.find((m) => m.parent_msg_id === msgId && m.channel === 'shell' && m.msg_type.endsWith('_reply'));
  }

  has(msgId: string, msgType: string): boolean {
    return this.received.some((m) => m.parent_msg_id === msgId && m.msg_type === msgType);
  }

  close(): Promise<void> {
    this.ws.close();
    return this.closed;
  }
}

/** Open file descriptors of this process (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
