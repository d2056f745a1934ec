import { describe, expect, it } from 'vitest';
import { createMessageHeader } from '@gp/core';
import { parseClientMessage, serializeForClient } from './ws-messages.js';

const header = createMessageHeader('execute_request', 's1', 'alice');

describe('WebSocket messages (legacy protocol)', () => {
  it('parses a JSON client message with its channel', () => {
    const msg = parseClientMessage(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code: '1' } }), false);
    expect(msg).toMatchObject({ channel: 'shell', header: { msg_type: 'execute_request' }, content: { code: '1' }, buffers: [] });
  });

  it('round-trips the binary form with buffers, as jupyter_server encodes it', () => {
    const out = serializeForClient('iopub', { header, parent_header: {}, metadata: {}, content: { a: 1 }, buffers: [Buffer.from('xyz'), Buffer.from([0, 1])] });
    expect(out.binary).toBe(true);
    const data = out.data as Buffer;
    expect(data.readUInt32BE(0)).toBe(3);
    // The same layout coming back from a client (with a client channel):
    const json = JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { a: 1 } });
    const parts = [Buffer.from(json), Buffer.from('xyz'), Buffer.from([0, 1])];
    const table = Buffer.alloc(16);
    table.writeUInt32BE(3, 0);
    table.writeUInt32BE(16, 4);
    table.writeUInt32BE(16 + parts[0]!.length, 8);
    table.writeUInt32BE(16 + parts[0]!.length + 3, 12);
    const back = parseClientMessage(Buffer.concat([table, ...parts]), true);
    expect(back.buffers).toEqual([Buffer.from('xyz'), Buffer.from([0, 1])]);
    expect(back.content).toEqual({ a: 1 });
  });

  it('sends JSON text with top-level msg_type and channel when there are no buffers', () => {
    const out = serializeForClient('iopub', { header, parent_header: {}, metadata: {}, content: {}, buffers: [] });
    expect(out.binary).toBe(false);
    expect(JSON.parse(out.data as string)).toMatchObject({ channel: 'iopub', msg_type: 'execute_request', msg_id: header.msg_id, buffers: [] });
  });

  it('refuses messages it cannot route', () => {
    expect(() => parseClientMessage('nope', false)).toThrow(/not valid JSON/);
    expect(() => parseClientMessage(JSON.stringify({ channel: 'iopub', header }), false)).toThrow(/channel "iopub": expected one of shell, control, stdin/);
    expect(() => parseClientMessage(JSON.stringify({ channel: 'shell' }), false)).toThrow(/without a header/);
  });
});
