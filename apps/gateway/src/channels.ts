/**
 * One WebSocket's bridge to its kernel's shared ZeroMQ channels (`KernelChannels`): client messages are
 * parsed and handed to the channels, kernel messages the channels route to this client are written to the
 * WebSocket. Also the kernel's own iopub monitor and one-off control requests.
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
import { curveClientOptions, kernelAddress, type ChannelClient, type KernelChannels } from './kernel-channels.js';
import { parseClientMessage, serializeForClient, type Channel, type ChannelMessage, type ClientChannel } from './ws-messages.js';


/** WebSocket close code for "try again later" (RFC 6455 registry): the gateway cannot serve the connection now. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * Bytes of client messages a bridge holds before they are handed to ZeroMQ (waiting for the nudge, or for a
 * kernel that does not take them); past this it stops reading its WebSocket until they drain, so a client
 * that floods cannot make the gateway buffer without bound (TCP pushes back on the client instead).
 */
export const MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

export interface BridgeEvents {
  /** A client message (last_activity). */
  onActivity(): void;
  onClose(): void;
}

export class ChannelBridge implements ChannelClient {
  private closed = false;
  private inFlight = 0;
  /** Settles once the bridge first joined the channels (or closed): client messages wait for it. */
  private readonly joined: Promise<void>;
  private markJoined!: () => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly channels: KernelChannels,
    private readonly log: Logger,
    private readonly events: BridgeEvents,
    private readonly maxInFlightBytes = MAX_IN_FLIGHT_BYTES,
  ) {
    this.joined = new Promise<void>((resolve) => (this.markJoined = resolve));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.close());
    ws.on('error', (e) => {
      this.log.debug('A WebSocket failed.', { error: e });
      this.close();
    });
  }

  /**
   * Joins the kernel's channels at `info` (again after a restart). Never rejects: when the sockets cannot
   * be opened the client is closed with 1013 (try again later) and the reason.
   */
  connect(info: KernelConnectionInfo): Promise<void> {
    if (this.closed) return Promise.resolve();
    let ready: Promise<void>;
    try {
      ready = this.channels.join(this, info);
    } catch (e) {
      this.log.warn('Refused a WebSocket: the kernel\'s ZeroMQ channels cannot be opened.', { error: e });
      this.close(CLOSE_TRY_AGAIN_LATER, 'gateway cannot open kernel channels; try again later');
      return Promise.resolve();
    }
    this.markJoined();
    return ready;
  }

  /** Sends a status message to the client as the kernel would (e.g. `restarting`, `dead`). */
  sendStatus(state: string): void {
    this.deliver('iopub', this.channels.statusMessage(state));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  deliver(channel: Channel, msg: JupyterMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const { data, binary } = serializeForClient(channel, msg);
    this.ws.send(data, { binary });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const size = data.length;
    this.inFlight += size;
    if (this.inFlight > this.maxInFlightBytes && !this.ws.isPaused) this.ws.pause();
    void this.fromClient(data, isBinary).finally(() => {
      this.inFlight -= size;
      if (this.ws.isPaused && this.inFlight <= this.maxInFlightBytes / 2 && !this.closed) this.ws.resume();
    });
  }

  /** Bytes of client messages not yet handed to ZeroMQ (tests). */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  private async fromClient(data: Buffer, isBinary: boolean): Promise<void> {
    let msg: ChannelMessage & { channel: ClientChannel };
    try {
      msg = parseClientMessage(data, isBinary);
    } catch (e) {
      this.log.warn('Dropped a client message that cannot be routed.', { error: e });
      return;
    }
    await this.joined; // the channels then wait for their own nudge
    if (this.closed) return;
    this.events.onActivity();
    await this.channels.send(this, msg).catch((e: unknown) => {
      this.log.warn('Could not forward a client message to the kernel.', { channel: msg.channel, error: e });
    });
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.markJoined();
    this.channels.leave(this);
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
    const socket = new zmq.Subscriber({ linger: 0, ...curveClientOptions(info) });
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
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs, ...curveClientOptions(info) });
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
