/**
 * One WebSocket's bridge to a kernel's ZeroMQ sockets, as Jupyter Server's ZMQ channels connection does
 * it: shell/control/stdin DEALERs (shell and stdin share a routing id, so `input_request`s reach this
 * client) and an iopub SUBSCRIBER. Messages are signed with the kernel's key on the way in and verified
 * on the way out; unverifiable ones are dropped. Before the client's messages are forwarded the bridge
 * "nudges" the kernel (kernel_info requests until iopub delivers), so no output is lost to ZeroMQ's slow
 * joiner.
 */
import { randomUUID } from 'node:crypto';
import {
  GpError,
  MessageSigner,
  createMessageHeader,
  deserializeMessage,
  serializeMessage,
  type JupyterMessage,
  type KernelConnectionInfo,
  type Logger,
} from '@gp/core';
import * as zmq from 'zeromq';
import type { WebSocket } from 'ws';
import { parseClientMessage, serializeForClient, type Channel, type ChannelMessage, type ClientChannel } from './ws-messages.js';

const NUDGE_INTERVAL_MS = 500;
const NUDGE_LIMIT_MS = 30_000;

/** zeromq allows one send in progress per socket: sends queue. */
class SerialSender {
  private last: Promise<unknown> = Promise.resolve();
  constructor(private readonly socket: zmq.Dealer) {}
  send(frames: Buffer[]): Promise<void> {
    const next = this.last.catch(() => undefined).then(() => this.socket.send(frames));
    this.last = next;
    return next;
  }
}

interface Sockets {
  dealers: Record<ClientChannel, zmq.Dealer>;
  senders: Record<ClientChannel, SerialSender>;
  iopub: zmq.Subscriber;
  signer: MessageSigner;
}

export interface BridgeEvents {
  /** Any message either way (last_activity). */
  onActivity(): void;
  onClose(): void;
}

export function kernelAddress(info: KernelConnectionInfo, port: number): string {
  const host = info.ip === '0.0.0.0' || info.ip === '' ? '127.0.0.1' : info.ip;
  return `${info.transport || 'tcp'}://${host}:${port}`;
}

export class ChannelBridge {
  private sockets: Sockets | undefined;
  private ready: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly nudgeIds = new Set<string>();
  private readonly session = randomUUID();

  constructor(
    private readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly events: BridgeEvents,
  ) {
    ws.on('message', (data, isBinary) => void this.fromClient(data as Buffer, isBinary));
    ws.on('close', () => this.close());
    ws.on('error', () => this.close());
  }

  /** (Re)connects to the kernel's ports, e.g. after a restart; client messages wait for the nudge. */
  connect(info: KernelConnectionInfo): Promise<void> {
    this.closeSockets();
    if (this.closed) return Promise.resolve();
    const routingId = `gp-${randomUUID()}`;
    const signer = new MessageSigner(info.key, info.signature_scheme);
    const make = (channel: ClientChannel, port: number, routing?: string): zmq.Dealer => {
      const dealer = new zmq.Dealer({ linger: 0, ...(routing ? { routingId: routing } : {}) });
      dealer.connect(kernelAddress(info, port));
      void this.pump(channel, dealer, signer);
      return dealer;
    };
    const dealers = {
      shell: make('shell', info.shell_port, routingId),
      control: make('control', info.control_port),
      stdin: make('stdin', info.stdin_port, routingId),
    };
    const iopub = new zmq.Subscriber({ linger: 0 });
    iopub.connect(kernelAddress(info, info.iopub_port));
    iopub.subscribe();
    const sockets: Sockets = {
      dealers,
      senders: { shell: new SerialSender(dealers.shell), control: new SerialSender(dealers.control), stdin: new SerialSender(dealers.stdin) },
      iopub,
      signer,
    };
    this.sockets = sockets;
    let iopubSeen!: () => void;
    const seen = new Promise<void>((resolve) => (iopubSeen = resolve));
    void this.pump('iopub', iopub, signer, iopubSeen);
    this.ready = this.nudge(sockets, seen);
    return this.ready;
  }

  /** Sends a status message to the client as the kernel would (e.g. `restarting`, `dead`). */
  sendStatus(state: string): void {
    const header = createMessageHeader('status', this.session, 'gp-gateway');
    this.toClient('iopub', { header, parent_header: {}, metadata: {}, content: { execution_state: state }, buffers: [] });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private async nudge(sockets: Sockets, iopubSeen: Promise<void>): Promise<void> {
    let done = false;
    void iopubSeen.then(() => (done = true));
    const deadline = Date.now() + NUDGE_LIMIT_MS;
    while (!done && !this.closed && this.sockets === sockets && Date.now() < deadline) {
      const header = createMessageHeader('kernel_info_request', this.session, 'gp-gateway');
      this.nudgeIds.add(header.msg_id);
      await sockets.senders.shell.send(serializeMessage({ header, parent_header: {}, metadata: {}, content: {} }, sockets.signer)).catch(() => undefined);
      await Promise.race([iopubSeen, new Promise((r) => setTimeout(r, NUDGE_INTERVAL_MS))]);
    }
    if (!done && !this.closed) this.log.warn('The kernel did not answer on iopub while connecting; forwarding anyway.');
  }

  private async pump(channel: Channel, socket: zmq.Dealer | zmq.Subscriber, signer: MessageSigner, onFirst?: () => void): Promise<void> {
    try {
      for await (const frames of socket) {
        let msg: JupyterMessage;
        try {
          msg = deserializeMessage(frames, signer).message;
        } catch (e) {
          this.log.warn('Dropped a kernel message that failed verification.', { channel, error: e });
          continue;
        }
        onFirst?.();
        const parent = msg.parent_header.msg_id;
        if (parent && this.nudgeIds.has(parent)) continue; // our own nudge traffic
        this.events.onActivity();
        this.toClient(channel, msg);
      }
    } catch {
      // socket closed
    }
  }

  private toClient(channel: Channel, msg: JupyterMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const { data, binary } = serializeForClient(channel, msg);
    this.ws.send(data, { binary });
  }

  private async fromClient(data: Buffer, isBinary: boolean): Promise<void> {
    let msg: ChannelMessage & { channel: ClientChannel };
    try {
      msg = parseClientMessage(data, isBinary);
    } catch (e) {
      this.log.warn('Dropped a client message that cannot be routed.', { error: e });
      return;
    }
    await this.ready;
    const sockets = this.sockets;
    if (!sockets || this.closed) return;
    this.events.onActivity();
    await sockets.senders[msg.channel].send(serializeMessage(msg, sockets.signer)).catch((e: unknown) => {
      this.log.warn('Could not forward a client message to the kernel.', { channel: msg.channel, error: e });
    });
  }

  private closeSockets(): void {
    const s = this.sockets;
    this.sockets = undefined;
    if (!s) return;
    for (const socket of [s.dealers.shell, s.dealers.control, s.dealers.stdin, s.iopub]) socket.close();
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeSockets();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code ?? 1000, reason);
    this.events.onClose();
  }
}

/**
 * A kernel's own iopub subscription: execution_state and last_activity for the API and culling,
 * whether or not a client is connected.
 */
export class KernelMonitor {
  private socket: zmq.Subscriber | undefined;
  executionState = 'starting';
  lastActivity = new Date();

  constructor(private readonly log: Logger) {}

  connect(info: KernelConnectionInfo): void {
    this.close();
    const socket = new zmq.Subscriber({ linger: 0 });
    socket.connect(kernelAddress(info, info.iopub_port));
    socket.subscribe();
    this.socket = socket;
    const signer = new MessageSigner(info.key, info.signature_scheme);
    void (async () => {
      try {
        for await (const frames of socket) {
          let msg: JupyterMessage;
          try {
            msg = deserializeMessage(frames, signer).message;
          } catch {
            continue;
          }
          this.lastActivity = new Date();
          if (msg.header.msg_type === 'status') {
            const state = (msg.content as { execution_state?: unknown }).execution_state;
            if (typeof state === 'string') this.executionState = state;
          }
        }
      } catch (e) {
        if (this.socket === socket) this.log.debug('The kernel monitor stopped.', { error: e });
      }
    })();
  }

  touch(): void {
    this.lastActivity = new Date();
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }
}

/**
 * One request on the kernel's control channel with its own socket (e.g. `interrupt_request` for
 * kernelspecs with `interrupt_mode: message`); resolves with the reply's content.
 */
export async function controlRequest(info: KernelConnectionInfo, msgType: string, content: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
  const signer = new MessageSigner(info.key, info.signature_scheme);
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
  try {
    dealer.connect(kernelAddress(info, info.control_port));
    const header = createMessageHeader(msgType, randomUUID(), 'gp-gateway');
    await dealer.send(serializeMessage({ header, parent_header: {}, metadata: {}, content }, signer));
    for (;;) {
      const frames = await dealer.receive();
      try {
        const { message } = deserializeMessage(frames, signer);
        if (message.parent_header.msg_id === header.msg_id) return message.content;
      } catch {
        // unverifiable: not our reply
      }
    }
  } catch (e) {
    throw new GpError('GP_CONTROL_REQUEST_FAILED', `The kernel did not answer ${msgType} on its control channel within ${timeoutMs} ms.`, {
      httpStatus: 504,
      cause: e,
      details: { msgType, timeoutMs },
    });
  } finally {
    dealer.close();
  }
}
