import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { MessageSigner, createMessageHeader, deserializeMessage, serializeMessage, silentLogger, type JupyterMessage, type KernelConnectionInfo } from '@gp/core';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as zmq from 'zeromq';
import { CLOSE_TRY_AGAIN_LATER, ChannelBridge } from './channels.js';
import { ChannelsUnavailableError, KernelChannels, type ChannelClient } from './kernel-channels.js';
import type { Channel } from './ws-messages.js';

const info: KernelConnectionInfo = {
  kernel_id: 'k',
  shell_port: 1,
  iopub_port: 2,
  stdin_port: 3,
  control_port: 4,
  hb_port: 5,
  ip: '127.0.0.1',
  key: 'secret',
  transport: 'tcp',
  signature_scheme: 'hmac-sha256',
  kernel_name: 'python3',
  response_version: 2,
};

describe('KernelChannels when ZeroMQ sockets cannot be opened (EMFILE, the context\'s socket limit)', () => {
  it('join throws ChannelsUnavailableError, leaves no socket open, and a WebSocket is closed with 1013 and a reason', async () => {
    // Room for two sockets: the third of the kernel's four fails.
    const context = new zmq.Context({ maxSockets: 2 });
    const channels = new KernelChannels({ kernelId: 'k', log: silentLogger, onActivity: () => undefined, context });
    expect(() => channels.join({ deliver: () => undefined }, info)).toThrow(ChannelsUnavailableError);
    expect(channels.isOpen).toBe(false);
    expect(channels.clientCount).toBe(0);
    // The two sockets it had opened are closed again (libzmq frees their slots asynchronously): two fresh ones fit.
    for (let tries = 0; ; tries++) {
      try {
        const probes = [new zmq.Dealer({ context })];
        try {
          probes.push(new zmq.Dealer({ context }));
        } finally {
          for (const p of probes) p.close();
        }
        break;
      } catch (e) {
        if (tries > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    const server = createServer();
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      let closedBridge = false;
      wss.on('connection', (ws) => {
        const bridge = new ChannelBridge(ws, channels, silentLogger, { onActivity: () => undefined, onClose: () => (closedBridge = true) });
        void bridge.connect(info);
      });
      const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const [code, reason] = await new Promise<[number, string]>((resolve) => client.once('close', (c, r) => resolve([c, r.toString()])));
      expect(code).toBe(CLOSE_TRY_AGAIN_LATER);
      expect(reason).toMatch(/cannot open kernel channels/);
      expect(closedBridge).toBe(true);
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * A kernel on real ZeroMQ sockets that publishes on iopub only around the requests it answers (status busy,
 * a stream for execute_request, status idle), like ipykernel; it records the requests it got.
 */
class FakeKernel {
  readonly requests: JupyterMessage[] = [];
  private readonly signer = new MessageSigner('fake-key');
  private readonly shell = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private constructor() {}

  static async start(): Promise<{ kernel: FakeKernel; info: KernelConnectionInfo }> {
    const k = new FakeKernel();
    await k.shell.bind('tcp://127.0.0.1:*');
    await k.iopub.bind('tcp://127.0.0.1:*');
    const port = (s: zmq.Router | zmq.Publisher): number => Number(/:(\d+)$/.exec(s.lastEndpoint!)![1]);
    void k.serve();
    const shellPort = port(k.shell);
    return { kernel: k, info: { ...info, shell_port: shellPort, control_port: shellPort, stdin_port: shellPort, iopub_port: port(k.iopub), key: 'fake-key' } };
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.shell) {
        const { identities, message } = deserializeMessage(frames, this.signer);
        this.requests.push(message);
        const publish = (type: string, content: Record<string, unknown>): Promise<void> =>
          this.iopub.send(serializeMessage({ header: createMessageHeader(type, 'k', 'k'), parent_header: message.header, metadata: {}, content }, this.signer));
        await publish('status', { execution_state: 'busy' });
        if (message.header.msg_type === 'execute_request') await publish('stream', { name: 'stdout', text: 'out' });
        const reply = message.header.msg_type.replace(/_request$/, '_reply');
        await this.shell.send(serializeMessage({ header: createMessageHeader(reply, 'k', 'k'), parent_header: message.header, metadata: {}, content: { status: 'ok' } }, this.signer, identities));
        await publish('status', { execution_state: 'idle' });
      }
    } catch {
      // closed
    }
  }

  close(): void {
    this.shell.close();
    this.iopub.close();
  }
}

class Recorder implements ChannelClient {
  readonly got: Array<{ channel: Channel; type: string; parent?: string }> = [];
  deliver(channel: Channel, msg: JupyterMessage): void {
    this.got.push({ channel, type: msg.header.msg_type, parent: msg.parent_header.msg_id });
  }
}

function request(type: string): JupyterMessage & { channel: 'shell' } {
  return { channel: 'shell', header: { ...createMessageHeader(type, randomUUID(), 'test') }, parent_header: {}, metadata: {}, content: {}, buffers: [] };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

describe('KernelChannels shared by several clients', () => {
  it('nudges the kernel (kernel_info_requests) until iopub delivers before anything goes through, and keeps that traffic from clients', async () => {
    const { kernel, info: fake } = await FakeKernel.start();
    const channels = new KernelChannels({ kernelId: 'k', log: silentLogger, onActivity: () => undefined });
    const client = new Recorder();
    try {
      await channels.join(client, fake);
      // Ready only after the kernel was asked and iopub answered: our subscription is in place.
      expect(kernel.requests.some((m) => m.header.msg_type === 'kernel_info_request')).toBe(true);
      expect(client.got).toEqual([]);
    } finally {
      channels.leave(client);
      kernel.close();
    }
  });

  it('gives iopub to every client and a reply only to the client that asked', async () => {
    const { kernel, info: fake } = await FakeKernel.start();
    const channels = new KernelChannels({ kernelId: 'k', log: silentLogger, onActivity: () => undefined });
    const [a, b] = [new Recorder(), new Recorder()];
    try {
      await Promise.all([channels.join(a, fake), channels.join(b, fake)]);
      expect(channels.clientCount).toBe(2);
      const fromA = request('execute_request');
      const fromB = request('kernel_info_request');
      await channels.send(a, fromA);
      await channels.send(b, fromB);
      const idle = (r: Recorder, id: string): boolean => r.got.some((m) => m.parent === id && m.type === 'status');
      await until(() => [a, b].every((r) => idle(r, fromA.header.msg_id) && idle(r, fromB.header.msg_id)));
      const replies = (r: Recorder): string[] => r.got.filter((m) => m.channel === 'shell').map((m) => `${m.type}:${m.parent}`);
      expect(replies(a)).toEqual([`execute_reply:${fromA.header.msg_id}`]);
      expect(replies(b)).toEqual([`kernel_info_reply:${fromB.header.msg_id}`]);
      for (const r of [a, b]) expect(r.got.some((m) => m.channel === 'iopub' && m.type === 'stream' && m.parent === fromA.header.msg_id)).toBe(true);
      channels.leave(a);
      expect(channels.isOpen).toBe(true);
      channels.leave(b);
      expect(channels.isOpen).toBe(false);
    } finally {
      channels.leave(a);
      channels.leave(b);
      kernel.close();
    }
  });
});

describe('a client that floods its WebSocket while the kernel does not take the messages', () => {
  it('stops being read once the bridge holds its limit of bytes, so the gateway does not buffer without bound', async () => {
    // Nothing listens at `info`'s ports: the channels never become ready and hold every message.
    const channels = new KernelChannels({ kernelId: 'k', log: silentLogger, onActivity: () => undefined });
    const server = createServer();
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const limit = 4 * 1024 * 1024;
    let bridge: ChannelBridge | undefined;
    let serverSide: WebSocket | undefined;
    wss.on('connection', (ws) => {
      serverSide = ws;
      bridge = new ChannelBridge(ws, channels, silentLogger, { onActivity: () => undefined, onClose: () => undefined }, limit);
      void bridge.connect(info);
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    try {
      await new Promise((resolve) => client.once('open', resolve));
      const message = JSON.stringify({ channel: 'shell', header: { msg_id: 'm', msg_type: 'execute_request' }, content: { code: 'x'.repeat(1024 * 1024) } });
      for (let i = 0; i < 40; i++) client.send(message);
      await until(() => serverSide?.isPaused === true);
      // At most what it held when it paused, plus what was already in the socket's read buffer.
      expect(bridge!.bytesInFlight).toBeLessThanOrEqual(limit + 2 * message.length);
    } finally {
      client.terminate();
      bridge?.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
