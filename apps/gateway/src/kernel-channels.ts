/**
 * A kernel's ZeroMQ channels, opened once and shared by every WebSocket connected to the kernel: shell,
 * control and stdin DEALERs (shell and stdin share a routing id, so the kernel's `input_request`s come
 * back to us) and one iopub SUBSCRIBER. A thousand WebSockets on a kernel cost four ZeroMQ sockets, not
 * four thousand (a ZeroMQ context allows ~1024, and each costs file descriptors).
 *
 * Routing, as Jupyter Server's kernel connections see it: iopub goes to every client; a shell or control
 * reply, and a stdin `input_request`, go to the client whose request it answers (its `parent_header.msg_id`,
 * remembered when the request went out). Messages are signed with the kernel's key on the way in and
 * verified on the way out; unverifiable ones are dropped. Before client messages go through, the channels
 * "nudge" the kernel (kernel_info requests until iopub delivers), so no output is lost to ZeroMQ's slow
 * joiner. The sockets are opened when the first client arrives and closed when the last one leaves.
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
import type { Channel, ChannelMessage, ClientChannel } from './ws-messages.js';

const NUDGE_INTERVAL_MS = 500;
const NUDGE_LIMIT_MS = 30_000;
/** Requests a client may have awaiting a reply; beyond that its oldest are forgotten (their replies dropped). */
export const MAX_PENDING_REQUESTS_PER_CLIENT = 1000;

/** One client of the channels (a WebSocket's bridge). */
export interface ChannelClient {
  /** A kernel message for this client. */
  deliver(channel: Channel, msg: JupyterMessage): void;
}

/** The ZeroMQ sockets could not be opened (e.g. EMFILE, or the context's socket limit): a refusal, not a crash. */
export class ChannelsUnavailableError extends GpError {
  constructor(kernelId: string, cause: unknown) {
    super('GP_KERNEL_CHANNELS_UNAVAILABLE', `The gateway cannot open ZeroMQ sockets to kernel ${kernelId} now (${cause instanceof Error ? cause.message : String(cause)}); try again later.`, {
      httpStatus: 503,
      cause,
      details: { kernelId },
    });
  }
}

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
  /** Which kernel endpoint these sockets are connected to (changes on restart). */
  endpoint: string;
  dealers: Record<ClientChannel, zmq.Dealer>;
  senders: Record<ClientChannel, SerialSender>;
  iopub: zmq.Subscriber;
  signer: MessageSigner;
  /** Settles when iopub delivered its first message: our subscription is in place. */
  iopubSeen: Promise<void>;
  /** Settles when client messages may go through (see `nudge`). */
  ready: Promise<void>;
  /** Our own kernel_info requests (their replies and iopub traffic are not forwarded). */
  nudgeIds: Set<string>;
}

/**
 * Why this gateway cannot connect with CurveZMQ (its libzmq lacks it), or undefined when it can: handed to the
 * provisioners, so `required` fails a launch before anything is created and `auto` warns.
 */
export function curveUnsupported(): string | undefined {
  return zmq.capability.curve ? undefined : "the gateway's libzmq (zeromq.js) was built without CurveZMQ support";
}

/**
 * Socket options that make a socket a CurveZMQ client of an encrypted kernel: the kernel's key pair (the launcher
 * generated it per launch and sent it inside the encrypted payload) as the client's own pair, and its public key as
 * the server key, as jupyter_client does. Empty for a kernel in the clear.
 */
export function curveClientOptions(info: KernelConnectionInfo): { curveServerKey?: string; curvePublicKey?: string; curveSecretKey?: string } {
  if (!info.curve_publickey || !info.curve_secretkey) return {};
  return { curveServerKey: info.curve_publickey, curvePublicKey: info.curve_publickey, curveSecretKey: info.curve_secretkey };
}

export function kernelAddress(info: KernelConnectionInfo, port: number): string {
  const host = info.ip === '0.0.0.0' || info.ip === '' ? '127.0.0.1' : info.ip;
  return `${info.transport || 'tcp'}://${host}:${port}`;
}

function endpointOf(info: KernelConnectionInfo): string {
  // The curve key is part of it: a restart that kept the ports but got new keys needs new sockets.
  return [kernelAddress(info, info.shell_port), info.control_port, info.stdin_port, info.iopub_port, info.key, info.signature_scheme, info.curve_publickey ?? ''].join('|');
}

export interface KernelChannelsOptions {
  kernelId: string;
  log: Logger;
  /** Any message from the kernel to a client (last_activity). */
  onActivity(): void;
  /** Each message relayed: a client's to the kernel, or the kernel's to one client (metrics). */
  onRelay?(channel: Channel, direction: 'to_kernel' | 'to_client'): void;
  /** The ZeroMQ context (default: zeromq's global one). */
  context?: zmq.Context;
}

export class KernelChannels {
  private sockets: Sockets | undefined;
  private readonly clients = new Set<ChannelClient>();
  /** Request msg_id → the client that sent it, for shell/control replies and stdin input requests. */
  private readonly owners = new Map<string, ChannelClient>();
  /** Each client's requests awaiting a reply, oldest first. */
  private readonly pending = new Map<ChannelClient, Set<string>>();
  private readonly session = randomUUID();

  constructor(private readonly o: KernelChannelsOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether ZeroMQ sockets are open (tests and figures). */
  get isOpen(): boolean {
    return this.sockets !== undefined;
  }

  /**
   * Adds `client` and makes sure the sockets are connected to `info` (reconnecting after a restart moved
   * the kernel). Resolves when client messages may go through. Throws `ChannelsUnavailableError` when the
   * sockets cannot be opened; the client is then not added.
   */
  join(client: ChannelClient, info: KernelConnectionInfo): Promise<void> {
    const sockets = this.ensure(info);
    this.clients.add(client);
    if (!this.pending.has(client)) this.pending.set(client, new Set());
    return sockets.ready;
  }

  /** Removes `client` (and its pending requests); the last one to leave closes the sockets. */
  leave(client: ChannelClient): void {
    this.clients.delete(client);
    for (const id of this.pending.get(client) ?? []) if (this.owners.get(id) === client) this.owners.delete(id);
    this.pending.delete(client);
    if (this.clients.size === 0) this.closeSockets();
  }

  /** A client's message to the kernel; waits for the nudge. */
  async send(client: ChannelClient, msg: ChannelMessage & { channel: ClientChannel }): Promise<void> {
    const sockets = this.sockets;
    if (!sockets || !this.clients.has(client)) return;
    await sockets.ready;
    if (this.sockets !== sockets || !this.clients.has(client)) return;
    if (msg.channel !== 'stdin') this.remember(client, msg.header.msg_id);
    await sockets.senders[msg.channel].send(serializeMessage(msg, sockets.signer));
    this.o.onRelay?.(msg.channel, 'to_kernel');
  }

  private remember(client: ChannelClient, msgId: string): void {
    if (typeof msgId !== 'string' || msgId === '') return;
    const owner = this.owners.get(msgId);
    if (owner && owner !== client) return; // a msg_id another client is waiting on stays theirs
    const mine = this.pending.get(client)!;
    this.owners.set(msgId, client);
    mine.delete(msgId);
    mine.add(msgId);
    if (mine.size > MAX_PENDING_REQUESTS_PER_CLIENT) {
      const oldest = mine.values().next().value as string;
      mine.delete(oldest);
      if (this.owners.get(oldest) === client) this.owners.delete(oldest);
    }
  }

  private ensure(info: KernelConnectionInfo): Sockets {
    const endpoint = endpointOf(info);
    if (this.sockets?.endpoint === endpoint) return this.sockets;
    this.closeSockets();
    const sockets = this.open(info, endpoint);
    this.sockets = sockets;
    // Only once they are the current sockets: the nudge stops as soon as they are not.
    sockets.ready = this.nudge(sockets);
    return sockets;
  }

  private open(info: KernelConnectionInfo, endpoint: string): Sockets {
    const created: Array<zmq.Dealer | zmq.Subscriber> = [];
    const context = { ...(this.o.context ? { context: this.o.context } : {}), ...curveClientOptions(info) };
    try {
      const routingId = `gp-${randomUUID()}`;
      const dealer = (port: number, routing?: string): zmq.Dealer => {
        const socket = new zmq.Dealer({ linger: 0, ...context, ...(routing ? { routingId: routing } : {}) });
        created.push(socket);
        socket.connect(kernelAddress(info, port));
        return socket;
      };
      const dealers = { shell: dealer(info.shell_port, routingId), control: dealer(info.control_port), stdin: dealer(info.stdin_port, routingId) };
      const iopub = new zmq.Subscriber({ linger: 0, ...context });
      created.push(iopub);
      iopub.connect(kernelAddress(info, info.iopub_port));
      iopub.subscribe();
      const signer = new MessageSigner(info.key, info.signature_scheme);
      const senders = { shell: new SerialSender(dealers.shell), control: new SerialSender(dealers.control), stdin: new SerialSender(dealers.stdin) };
      let iopubSeen!: () => void;
      const seen = new Promise<void>((resolve) => (iopubSeen = resolve));
      const sockets: Sockets = { endpoint, dealers, senders, iopub, signer, iopubSeen: seen, ready: seen, nudgeIds: new Set() };
      for (const channel of ['shell', 'control', 'stdin'] as const) void this.pump(sockets, channel, dealers[channel]);
      void this.pump(sockets, 'iopub', iopub, iopubSeen);
      this.o.log.debug('Opened the kernel\'s ZeroMQ channels.', { kernel_id: this.o.kernelId });
      return sockets;
    } catch (e) {
      for (const socket of created) socket.close();
      throw new ChannelsUnavailableError(this.o.kernelId, e);
    }
  }

  private async nudge(sockets: Sockets): Promise<void> {
    const iopubSeen = sockets.iopubSeen;
    let done = false;
    void iopubSeen.then(() => (done = true));
    const deadline = Date.now() + NUDGE_LIMIT_MS;
    while (!done && this.sockets === sockets && Date.now() < deadline) {
      const header = createMessageHeader('kernel_info_request', this.session, 'gp-gateway');
      sockets.nudgeIds.add(header.msg_id);
      await sockets.senders.shell.send(serializeMessage({ header, parent_header: {}, metadata: {}, content: {} }, sockets.signer)).catch(() => undefined);
      await Promise.race([iopubSeen, new Promise((r) => setTimeout(r, NUDGE_INTERVAL_MS))]);
    }
    if (!done && this.sockets === sockets) this.o.log.warn('The kernel did not answer on iopub while connecting; forwarding anyway.', { kernel_id: this.o.kernelId });
  }

  private async pump(sockets: Sockets, channel: Channel, socket: zmq.Dealer | zmq.Subscriber, onFirst?: () => void): Promise<void> {
    try {
      for await (const frames of socket) {
        let msg: JupyterMessage;
        try {
          msg = deserializeMessage(frames, sockets.signer).message;
        } catch (e) {
          this.o.log.warn('Dropped a kernel message that failed verification.', { kernel_id: this.o.kernelId, channel, error: e });
          continue;
        }
        onFirst?.();
        const parent = msg.parent_header.msg_id;
        if (parent && sockets.nudgeIds.has(parent)) continue; // our own nudge traffic
        this.route(channel, msg);
      }
    } catch {
      // socket closed
    }
  }

  private route(channel: Channel, msg: JupyterMessage): void {
    if (channel === 'iopub') {
      if (this.clients.size > 0) this.o.onActivity();
      for (const client of this.clients) {
        client.deliver(channel, msg);
        this.o.onRelay?.(channel, 'to_client');
      }
      return;
    }
    const parent = msg.parent_header.msg_id;
    const owner = parent ? this.owners.get(parent) : undefined;
    if (!owner) return; // its client left, or nobody asked
    if (channel !== 'stdin' && msg.header.msg_type.endsWith('_reply')) {
      this.owners.delete(parent!);
      this.pending.get(owner)?.delete(parent!);
    }
    this.o.onActivity();
    owner.deliver(channel, msg);
    this.o.onRelay?.(channel, 'to_client');
  }

  /** A status message as the kernel would send it (e.g. `restarting`, `dead`), for the gateway to tell clients. */
  statusMessage(state: string): JupyterMessage {
    const header = createMessageHeader('status', this.session, 'gp-gateway');
    return { header, parent_header: {}, metadata: {}, content: { execution_state: state }, buffers: [] };
  }

  private closeSockets(): void {
    const s = this.sockets;
    this.sockets = undefined;
    this.owners.clear();
    for (const set of this.pending.values()) set.clear();
    if (!s) return;
    for (const socket of [s.dealers.shell, s.dealers.control, s.dealers.stdin, s.iopub]) socket.close();
    this.o.log.debug('Closed the kernel\'s ZeroMQ channels.', { kernel_id: this.o.kernelId });
  }
}
