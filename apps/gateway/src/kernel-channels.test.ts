import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type KernelConnectionInfo } from '@gp/core';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as zmq from 'zeromq';
import { CLOSE_TRY_AGAIN_LATER, ChannelBridge } from './channels.js';
import { ChannelsUnavailableError, KernelChannels } from './kernel-channels.js';

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
