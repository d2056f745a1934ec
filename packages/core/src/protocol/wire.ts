/**
 * The Jupyter messaging wire protocol (5.x) over ZeroMQ: multipart frames
 * `[identities..., '<IDS|MSG>', signature, header, parent_header, metadata, content, buffers...]`,
 * signed with HMAC over the four JSON frames using the kernel's key. Shared by the gateway's
 * WebSocket bridge and the test client.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { GpError } from '../errors.js';

export const WIRE_DELIMITER = Buffer.from('<IDS|MSG>', 'utf8');
/** The protocol version gp's clients put into the headers they create. */
export const WIRE_PROTOCOL_VERSION = '5.3';

export interface JupyterMessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [key: string]: unknown;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: JupyterMessageHeader;
  parent_header: Partial<JupyterMessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** A multipart message that is malformed or fails its signature check. */
export class WireProtocolError extends GpError {
  constructor(code: 'GP_WIRE_MALFORMED' | 'GP_WIRE_BAD_SIGNATURE' | 'GP_WIRE_UNSUPPORTED_SCHEME', message: string, details: Record<string, unknown> = {}) {
    super(code, message, { httpStatus: 400, details });
  }
}

const SUPPORTED_SCHEMES = ['hmac-sha256', 'hmac-sha512', 'hmac-sha1', 'hmac-md5'];

/**
 * Signs and verifies the four JSON frames of a message. An empty key disables signing (the
 * signature frame is empty and not checked), as Jupyter's Session does.
 */
export class MessageSigner {
  private readonly key: Buffer;
  private readonly digest: string;

  constructor(key: string | Buffer, scheme = 'hmac-sha256') {
    const normalized = scheme || 'hmac-sha256';
    if (!SUPPORTED_SCHEMES.includes(normalized)) {
      throw new WireProtocolError(
        'GP_WIRE_UNSUPPORTED_SCHEME',
        `Unsupported signature scheme '${scheme}': expected one of ${SUPPORTED_SCHEMES.join(', ')}.`,
        { scheme },
      );
    }
    this.key = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    this.digest = normalized.slice('hmac-'.length);
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(frames: ReadonlyArray<Buffer | string>): string {
    if (!this.enabled) return '';
    const hmac = createHmac(this.digest, this.key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest('hex');
  }

  verify(signature: Buffer | string, frames: ReadonlyArray<Buffer | string>): boolean {
    if (!this.enabled) return true;
    const want = Buffer.from(this.sign(frames), 'utf8');
    const got = typeof signature === 'string' ? Buffer.from(signature, 'utf8') : signature;
    return want.length === got.length && timingSafeEqual(want, got);
  }
}

/** A fresh header for a message this side originates. */
export function createMessageHeader(msgType: string, session: string, username: string): JupyterMessageHeader {
  return { msg_id: randomUUID(), msg_type: msgType, session, username, date: new Date().toISOString(), version: WIRE_PROTOCOL_VERSION };
}

/** The frames to send for `message`, signed, after the routing `identities` (none for DEALER sockets). */
export function serializeMessage(
  message: Pick<JupyterMessage, 'header' | 'parent_header' | 'metadata' | 'content'> & { buffers?: ReadonlyArray<Buffer> },
  signer: MessageSigner,
  identities: ReadonlyArray<Buffer> = [],
): Buffer[] {
  const parts = [message.header, message.parent_header ?? {}, message.metadata ?? {}, message.content ?? {}].map((part) =>
    Buffer.from(JSON.stringify(part), 'utf8'),
  );
  return [...identities, WIRE_DELIMITER, Buffer.from(signer.sign(parts), 'utf8'), ...parts, ...(message.buffers ?? [])];
}

export interface DeserializedMessage {
  identities: Buffer[];
  message: JupyterMessage;
}

function parseJsonFrame(frame: Buffer, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString('utf8'));
  } catch {
    throw new WireProtocolError('GP_WIRE_MALFORMED', `The ${name} frame of a Jupyter message is not valid JSON.`, { frame: name });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WireProtocolError('GP_WIRE_MALFORMED', `The ${name} frame of a Jupyter message is not a JSON object.`, { frame: name });
  }
  return value as Record<string, unknown>;
}

/**
 * Parses received frames, checking the signature before any JSON is parsed. Throws
 * `WireProtocolError` (`GP_WIRE_MALFORMED`, `GP_WIRE_BAD_SIGNATURE`) for what must be dropped.
 */
export function deserializeMessage(frames: ReadonlyArray<Buffer>, signer: MessageSigner): DeserializedMessage {
  const at = frames.findIndex((frame) => frame.equals(WIRE_DELIMITER));
  if (at < 0) throw new WireProtocolError('GP_WIRE_MALFORMED', 'A Jupyter message without the <IDS|MSG> delimiter frame.', { frames: frames.length });
  if (frames.length < at + 6) {
    throw new WireProtocolError('GP_WIRE_MALFORMED', `A Jupyter message needs 5 frames after the delimiter, got ${frames.length - at - 1}.`, {
      frames: frames.length,
    });
  }
  const [signature, header, parent, metadata, content] = frames.slice(at + 1, at + 6) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  if (!signer.verify(signature, [header, parent, metadata, content])) {
    throw new WireProtocolError('GP_WIRE_BAD_SIGNATURE', 'A Jupyter message failed its HMAC signature check (wrong key, or forged).');
  }
  const headerObject = parseJsonFrame(header, 'header');
  if (typeof headerObject.msg_type !== 'string' || typeof headerObject.msg_id !== 'string') {
    throw new WireProtocolError('GP_WIRE_MALFORMED', 'A Jupyter message header without msg_id and msg_type.');
  }
  return {
    identities: frames.slice(0, at),
    message: {
      header: headerObject as JupyterMessageHeader,
      parent_header: parseJsonFrame(parent, 'parent_header') as Partial<JupyterMessageHeader>,
      metadata: parseJsonFrame(metadata, 'metadata'),
      content: parseJsonFrame(content, 'content'),
      buffers: frames.slice(at + 6),
    },
  };
}
