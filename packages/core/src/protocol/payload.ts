/**
 * Response payloads: what a kernel launcher sends to the host's response address.
 *
 * - Version 1 (Gateway Provisioners / Enterprise Gateway launchers): base64 of
 *   `{"version":1,"key":b64(RSA-PKCS1v1.5(aes128key)),"conn_info":b64(AES-128-ECB(PKCS7(json)))}`.
 * - Version 2 (gp's launchers): base64 of
 *   `{"version":2,"kernel_id":id,"key":b64(RSA-OAEP-SHA256(aes256key)),"nonce":b64(12 bytes),
 *   "conn_info":b64(AES-256-GCM(json) || tag)}` with additional data `gp-response-v2\n<kernel_id>`,
 *   and the JSON carries a per-kernel `comm_secret`.
 * - Legacy version 0: base64 of AES-ECB(json) keyed with `kernel_id[0:16]`, no wrapper. The key is
 *   public (it is the kernel id), so this is off unless `allowLegacyV0` is set.
 *
 * Every failure after the envelope parses is reported as one `ResponsePayloadError('rejected')`.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { ResponsePayloadError } from './errors.js';
import type { ResponseKeyPair } from './keys.js';
import { unpadPkcs1v15 } from './pkcs1.js';
import type { KernelConnectionInfo, ResponseVersion } from './types.js';

/** Payloads larger than this are dropped without decoding. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Additional authenticated data prefix of version 2 (followed by the kernel id). */
export const RESPONSE_V2_AAD_PREFIX = 'gp-response-v2\n';

export interface DecodeOptions {
  /** Accept legacy version 0 payloads (no real encryption). Default false. */
  allowLegacyV0?: boolean;
  /** Lowest accepted version among 1 and 2 (version 0 is governed by `allowLegacyV0`). Default 1. */
  minVersion?: 1 | 2;
  /** Default `DEFAULT_MAX_PAYLOAD_BYTES`. */
  maxBytes?: number;
}

/** An envelope whose outer layer parsed; opening it needs a registration's key. */
export type ResponseEnvelope =
  | { version: 1; key: Buffer; connInfo: Buffer }
  | { version: 2; kernelId: string; key: Buffer; nonce: Buffer; connInfo: Buffer }
  | { version: 0; data: Buffer };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function strictBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

/** Parses the outer layer (no cryptography). Throws `ResponsePayloadError` (`oversized`/`malformed`/`version`). */
export function parseResponseEnvelope(raw: Buffer | string, options: DecodeOptions = {}): ResponseEnvelope {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > maxBytes) throw new ResponsePayloadError('oversized', { details: { size, maxBytes } });
  const text = (typeof raw === 'string' ? raw : raw.toString('latin1')).trim();
  const outer = strictBase64(text);
  if (!outer || outer.length === 0) throw new ResponsePayloadError('malformed');

  let json: unknown;
  try {
    json = JSON.parse(outer.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (json === undefined || json === null || typeof json !== 'object' || Array.isArray(json)) {
    // Not JSON: only a legacy version 0 payload (raw AES-ECB blocks) can look like this.
    if (options.allowLegacyV0 && outer.length % 16 === 0) return { version: 0, data: outer };
    throw new ResponsePayloadError(options.allowLegacyV0 ? 'malformed' : 'version', {
      details: { version: 0 },
    });
  }
  const obj = json as Record<string, unknown>;
  const minVersion = options.minVersion ?? 1;
  if (obj.version === 1) {
    if (minVersion > 1) throw new ResponsePayloadError('version', { details: { version: 1, minVersion } });
    const key = strictBase64(obj.key);
    const connInfo = strictBase64(obj.conn_info);
    if (!key || !connInfo) throw new ResponsePayloadError('malformed');
    return { version: 1, key, connInfo };
  }
  if (obj.version === 2) {
    const key = strictBase64(obj.key);
    const nonce = strictBase64(obj.nonce);
    const connInfo = strictBase64(obj.conn_info);
    const kernelId = obj.kernel_id;
    if (!key || !nonce || !connInfo || typeof kernelId !== 'string' || kernelId.length === 0 || kernelId.length > 256) {
      throw new ResponsePayloadError('malformed');
    }
    return { version: 2, kernelId, key, nonce, connInfo };
  }
  throw new ResponsePayloadError('version', {
    details: { version: typeof obj.version === 'number' ? obj.version : String(obj.version) },
  });
}

function rejected(): ResponsePayloadError {
  return new ResponsePayloadError('rejected');
}

function aesEcbDecrypt(key: Buffer, data: Buffer, autoPadding: boolean): Buffer {
  const decipher = createDecipheriv(`aes-${key.length * 8}-ecb`, key, null);
  decipher.setAutoPadding(autoPadding);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

interface Opened {
  plain: Buffer;
  /** The payload's symmetric key (what the acknowledgement is keyed with); undefined for version 0. */
  key?: Buffer;
}

function openV1(env: { key: Buffer; connInfo: Buffer }, keyPair: ResponseKeyPair): Opened {
  if (env.key.length !== keyPair.modulusBytes || env.connInfo.length === 0 || env.connInfo.length % 16 !== 0) {
    throw rejected();
  }
  const substitute = randomBytes(16);
  let block: Buffer;
  try {
    block = privateDecrypt({ key: keyPair.privateKey, padding: constants.RSA_NO_PADDING }, env.key);
  } catch {
    // Ciphertext not below the modulus: carry on with a block that fails the padding check.
    block = Buffer.alloc(keyPair.modulusBytes);
  }
  const { ok, message } = unpadPkcs1v15(block, 16, substitute);
  let plain: Buffer | undefined;
  try {
    plain = aesEcbDecrypt(message, env.connInfo, true);
  } catch {
    plain = undefined;
  }
  if (!ok || !plain) throw rejected();
  return { plain, key: message };
}

function openV2(
  env: { kernelId: string; key: Buffer; nonce: Buffer; connInfo: Buffer },
  keyPair: ResponseKeyPair,
): Opened {
  if (env.nonce.length !== 12 || env.connInfo.length < 17 || env.key.length !== keyPair.modulusBytes) throw rejected();
  try {
    const aesKey = privateDecrypt(
      { key: keyPair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      env.key,
    );
    if (aesKey.length !== 32) throw rejected();
    const tag = env.connInfo.subarray(env.connInfo.length - 16);
    const body = env.connInfo.subarray(0, env.connInfo.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', aesKey, env.nonce, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(RESPONSE_V2_AAD_PREFIX + env.kernelId, 'utf8'));
    decipher.setAuthTag(tag);
    return { plain: Buffer.concat([decipher.update(body), decipher.final()]), key: aesKey };
  } catch {
    throw rejected();
  }
}

function openV0(data: Buffer, kernelId: string): Opened {
  const key = Buffer.from(kernelId.slice(0, 16), 'utf8');
  if (key.length !== 16) throw rejected();
  try {
    const text = aesEcbDecrypt(key, data, false).toString('utf8');
    const end = text.lastIndexOf('}');
    if (end < 0) throw rejected();
    return { plain: Buffer.from(text.slice(0, end + 1), 'utf8') };
  } catch {
    throw rejected();
  }
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;
}

function optionalInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** Validates decrypted connection JSON; anything off is the uniform rejection. */
function toConnectionInfo(plain: Buffer, version: ResponseVersion, expectedKernelId: string): KernelConnectionInfo {
  let data: unknown;
  try {
    data = JSON.parse(plain.toString('utf8'));
  } catch {
    throw rejected();
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw rejected();
  const o = data as Record<string, unknown>;
  const kernelId = version === 0 ? expectedKernelId : o.kernel_id;
  if (kernelId !== expectedKernelId) throw rejected();
  const ports = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;
  if (!ports.every((p) => isPort(o[p]))) throw rejected();
  if (typeof o.key !== 'string' || typeof o.ip !== 'string') throw rejected();
  const str = (v: unknown, dflt: string): string => (typeof v === 'string' ? v : dflt);
  const info: KernelConnectionInfo = {
    kernel_id: expectedKernelId,
    shell_port: o.shell_port as number,
    iopub_port: o.iopub_port as number,
    stdin_port: o.stdin_port as number,
    control_port: o.control_port as number,
    hb_port: o.hb_port as number,
    ip: o.ip,
    key: o.key,
    transport: str(o.transport, 'tcp'),
    signature_scheme: str(o.signature_scheme, 'hmac-sha256'),
    kernel_name: str(o.kernel_name, ''),
    response_version: version,
  };
  if (o.comm_port !== undefined) {
    if (!isPort(o.comm_port)) throw rejected();
    info.comm_port = o.comm_port;
  }
  const pid = optionalInt(o.pid);
  if (pid !== undefined) info.pid = pid;
  const pgid = optionalInt(o.pgid);
  if (pgid !== undefined) info.pgid = pgid;
  if (typeof o.curve_publickey === 'string') info.curve_publickey = o.curve_publickey;
  if (typeof o.curve_secretkey === 'string') info.curve_secretkey = o.curve_secretkey;
  if (version === 2) {
    const secret = strictBase64(o.comm_secret);
    if (!secret || secret.length < 16) throw rejected();
    info.comm_secret = o.comm_secret as string;
  }
  return info;
}

/** An opened payload: the connection information and, for versions 1 and 2, the acknowledgement to send back. */
export interface OpenedResponse {
  info: KernelConnectionInfo;
  /** The line the host writes back on acceptance (see `responseAck`); undefined for version 0. */
  ack?: string;
}

/**
 * Opens a parsed envelope with one registration's key pair and computes its acknowledgement. Throws
 * `ResponsePayloadError('rejected')` for every failure.
 */
export function openResponse(env: ResponseEnvelope, keyPair: ResponseKeyPair, expectedKernelId: string): OpenedResponse {
  switch (env.version) {
    case 1:
    case 2: {
      if (env.version === 2 && env.kernelId !== expectedKernelId) throw rejected();
      const opened = env.version === 1 ? openV1(env, keyPair) : openV2(env, keyPair);
      const info = toConnectionInfo(opened.plain, env.version, expectedKernelId);
      return { info, ack: responseAck(opened.key!, expectedKernelId) };
    }
    case 0:
      return { info: toConnectionInfo(openV0(env.data, expectedKernelId).plain, 0, expectedKernelId) };
  }
}

/**
 * Opens a parsed envelope with one registration's key pair. Throws `ResponsePayloadError('rejected')`
 * for every failure.
 */
export function openResponseEnvelope(
  env: ResponseEnvelope,
  keyPair: ResponseKeyPair,
  expectedKernelId: string,
): KernelConnectionInfo {
  return openResponse(env, keyPair, expectedKernelId).info;
}

/** Prefix of the acknowledgement MAC's input (followed by the kernel id). */
export const RESPONSE_ACK_PREFIX = 'gp-response-ack\n';

/**
 * The acknowledgement a gp host writes back after accepting a payload:
 * `{"gp_ack":1,"mac":"<hex HMAC-SHA256(payload key, "gp-response-ack\n" + kernel_id)>"}\n`. Only the holder
 * of the registration's private key learns the payload key, so a valid ack proves that the host itself
 * accepted the payload; it is computed from values the sender chose, so it tells the sender nothing new.
 */
export function responseAck(payloadKey: Buffer, kernelId: string): string {
  const mac = createHmac('sha256', payloadKey).update(RESPONSE_ACK_PREFIX + kernelId, 'utf8').digest('hex');
  return `${JSON.stringify({ gp_ack: 1, mac })}\n`;
}

/** Decodes one payload for one expected kernel. Throws `ResponsePayloadError` on any failure. */
export function decodeResponsePayload(
  raw: Buffer | string,
  keyPair: ResponseKeyPair,
  expectedKernelId: string,
  options: DecodeOptions = {},
): KernelConnectionInfo {
  return openResponseEnvelope(parseResponseEnvelope(raw, options), keyPair, expectedKernelId);
}

export interface EncodeOptions {
  version: ResponseVersion;
  /** Required for versions 0 and 2 (v0 key, v2 additional data); v1 reads it from `connectionInfo`. */
  kernelId: string;
}

/**
 * Encodes a payload as a launcher would (tests, and TypeScript-side test launchers). `publicKey` is
 * the `--public-key` string. `connectionInfo` is sent as given.
 */
export function encodeResponsePayload(
  connectionInfo: Record<string, unknown>,
  publicKey: string,
  options: EncodeOptions,
): string {
  return encodeResponse(connectionInfo, publicKey, options).payload;
}

/** `encodeResponsePayload` plus the acknowledgement a gp host answers it with (none for version 0). */
export function encodeResponse(
  connectionInfo: Record<string, unknown>,
  publicKey: string,
  options: EncodeOptions,
): { payload: string; ack?: string } {
  const json = Buffer.from(JSON.stringify(connectionInfo), 'utf8');
  if (options.version === 0) {
    const key = Buffer.from(options.kernelId.slice(0, 16), 'utf8');
    const padded = Buffer.concat([json, Buffer.alloc((16 - (json.length % 16)) % 16, 0x20)]);
    const cipher = createCipheriv('aes-128-ecb', key, null);
    cipher.setAutoPadding(false);
    return { payload: Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64') };
  }
  const rsa = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
  const ackKernelId = options.version === 1 ? String(connectionInfo.kernel_id) : options.kernelId;
  if (options.version === 1) {
    const aesKey = randomBytes(16);
    const cipher = createCipheriv('aes-128-ecb', aesKey, null);
    const connInfo = Buffer.concat([cipher.update(json), cipher.final()]);
    const key = publicEncrypt({ key: rsa, padding: constants.RSA_PKCS1_PADDING }, aesKey);
    const envelope = { version: 1, key: key.toString('base64'), conn_info: connInfo.toString('base64') };
    return { payload: Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64'), ack: responseAck(aesKey, ackKernelId) };
  }
  const aesKey = randomBytes(32);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(RESPONSE_V2_AAD_PREFIX + options.kernelId, 'utf8'));
  const body = Buffer.concat([cipher.update(json), cipher.final(), cipher.getAuthTag()]);
  const key = publicEncrypt({ key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aesKey);
  const envelope = {
    version: 2,
    kernel_id: options.kernelId,
    key: key.toString('base64'),
    nonce: nonce.toString('base64'),
    conn_info: body.toString('base64'),
  };
  return { payload: Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64'), ack: responseAck(aesKey, ackKernelId) };
}
