/**
 * Jupyter Server's "legacy" kernel WebSocket message format (no subprotocol), which its gateway client
 * speaks: a JSON text frame `{channel, header, parent_header, metadata, content, buffers}`, or, when the
 * message carries binary buffers, a binary frame of big-endian uint32 offsets followed by the JSON and the
 * buffers (jupyter_server's `serialize_binary_message`).
 */
import type { JupyterMessage } from '@gp/core';
import { BadRequestError } from './policy.js';

export const CLIENT_CHANNELS = ['shell', 'control', 'stdin'] as const;
export type ClientChannel = (typeof CLIENT_CHANNELS)[number];
export type Channel = ClientChannel | 'iopub';

export interface ChannelMessage extends JupyterMessage {
  channel: Channel;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A client's message: JSON text, or the binary form. Throws `BadRequestError` for what cannot be routed. */
export function parseClientMessage(data: Buffer | string, isBinary: boolean): ChannelMessage & { channel: ClientChannel } {
  let json: string;
  let buffers: Buffer[] = [];
  if (isBinary && Buffer.isBuffer(data)) {
    if (data.length < 8) throw new BadRequestError('A binary kernel message shorter than its offset table.');
    const count = data.readUInt32BE(0);
    if (count < 1 || 4 * (count + 1) > data.length) throw new BadRequestError(`A binary kernel message with a bad offset count (${count}).`);
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) offsets.push(data.readUInt32BE(4 * (i + 1)));
    const parts = offsets.map((start, i) => data.subarray(start, i + 1 < count ? offsets[i + 1] : data.length));
    json = parts[0]!.toString('utf8');
    buffers = parts.slice(1).map((b) => Buffer.from(b));
  } else {
    json = Buffer.isBuffer(data) ? data.toString('utf8') : data;
  }
  let msg: unknown;
  try {
    msg = JSON.parse(json);
  } catch {
    throw new BadRequestError('A kernel message that is not valid JSON.');
  }
  if (!isObject(msg) || !isObject(msg.header) || typeof msg.header.msg_type !== 'string') {
    throw new BadRequestError('A kernel message without a header and msg_type.');
  }
  const channel = msg.channel;
  if (typeof channel !== 'string' || !(CLIENT_CHANNELS as readonly string[]).includes(channel)) {
    throw new BadRequestError(`A kernel message for channel ${JSON.stringify(channel)}: expected one of ${CLIENT_CHANNELS.join(', ')}.`);
  }
  if (buffers.length === 0 && Array.isArray(msg.buffers)) {
    // JSON clients may send base64 buffers (rare); keep them as bytes.
    buffers = msg.buffers.filter((b): b is string => typeof b === 'string').map((b) => Buffer.from(b, 'base64'));
  }
  return {
    channel: channel as ClientChannel,
    header: msg.header as JupyterMessage['header'],
    parent_header: isObject(msg.parent_header) ? (msg.parent_header as JupyterMessage['parent_header']) : {},
    metadata: isObject(msg.metadata) ? msg.metadata : {},
    content: isObject(msg.content) ? msg.content : {},
    buffers,
  };
}

/** A kernel's message for the client: JSON text without buffers, the binary form with them. */
export function serializeForClient(channel: Channel, msg: JupyterMessage): { data: string | Buffer; binary: boolean } {
  const body = {
    header: msg.header,
    msg_id: msg.header.msg_id,
    msg_type: msg.header.msg_type,
    parent_header: msg.parent_header,
    metadata: msg.metadata,
    content: msg.content,
    channel,
  };
  if (msg.buffers.length === 0) return { data: JSON.stringify({ ...body, buffers: [] }), binary: false };
  const parts = [Buffer.from(JSON.stringify(body), 'utf8'), ...msg.buffers];
  const count = parts.length;
  const table = Buffer.alloc(4 * (count + 1));
  table.writeUInt32BE(count, 0);
  let offset = table.length;
  parts.forEach((part, i) => {
    table.writeUInt32BE(offset, 4 * (i + 1));
    offset += part.length;
  });
  return { data: Buffer.concat([table, ...parts]), binary: true };
}
