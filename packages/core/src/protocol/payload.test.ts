import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResponsePayloadError } from './errors.js';
import { createResponseKeyPairSync } from './keys.js';
import { decodeResponsePayload, encodeResponsePayload, parseResponseEnvelope } from './payload.js';

const kernelId = '1e0a9b0c-7d5e-4c3f-9a1b-2c3d4e5f6a7b';
const kp = createResponseKeyPairSync(2048);
const other = createResponseKeyPairSync(2048);

function connInfo(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shell_port: 50001,
    iopub_port: 50002,
    stdin_port: 50003,
    control_port: 50004,
    hb_port: 50005,
    ip: '0.0.0.0',
    key: 'b2a0e6a4-5f0f-4c1e-8a55-0b4b6a0b0f00',
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
    kernel_name: '',
    pid: 4242,
    pgid: 4242,
    comm_port: 50006,
    kernel_id: kernelId,
    ...extra,
  };
}
const secret = randomBytes(32).toString('base64');

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponsePayloadError);
    return (err as ResponsePayloadError).reason;
  }
  throw new Error('expected a rejection');
}

function b64json(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64');
}
function envelopeOf(payload: string): Record<string, string | number> {
  return JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Record<string, string | number>;
}

describe('response payloads', () => {
  it('round-trips version 1 (the reference launchers)', () => {
    const payload = encodeResponsePayload(connInfo(), kp.publicKey, { version: 1, kernelId });
    const info = decodeResponsePayload(payload, kp, kernelId);
    expect(info).toMatchObject({ shell_port: 50001, hb_port: 50005, comm_port: 50006, pid: 4242, response_version: 1 });
    expect(info.key).toBe('b2a0e6a4-5f0f-4c1e-8a55-0b4b6a0b0f00');
    expect(info.comm_secret).toBeUndefined();
  });

  it('round-trips version 2 and carries the comm secret', () => {
    const payload = encodeResponsePayload(connInfo({ comm_secret: secret }), kp.publicKey, { version: 2, kernelId });
    const info = decodeResponsePayload(payload, kp, kernelId);
    expect(info.response_version).toBe(2);
    expect(info.comm_secret).toBe(secret);
  });

  it('accepts version 0 only when allowed', () => {
    const { kernel_id: _omit, ...legacy } = connInfo();
    const payload = encodeResponsePayload(legacy, kp.publicKey, { version: 0, kernelId });
    expect(rejection(() => decodeResponsePayload(payload, kp, kernelId))).toBe('version');
    const info = decodeResponsePayload(payload, kp, kernelId, { allowLegacyV0: true });
    expect(info).toMatchObject({ kernel_id: kernelId, shell_port: 50001, response_version: 0 });
    expect(rejection(() => decodeResponsePayload(payload, kp, 'ffffffff-0000-0000-0000-000000000000', { allowLegacyV0: true }))).toBe('rejected');
  });

  it('refuses version 1 when version 2 is required', () => {
    const payload = encodeResponsePayload(connInfo(), kp.publicKey, { version: 1, kernelId });
    expect(rejection(() => decodeResponsePayload(payload, kp, kernelId, { minVersion: 2 }))).toBe('version');
  });

  it('gives one uniform rejection for every cryptographic or content failure', () => {
    const v1 = encodeResponsePayload(connInfo(), kp.publicKey, { version: 1, kernelId });
    const v2 = encodeResponsePayload(connInfo({ comm_secret: secret }), kp.publicKey, { version: 2, kernelId });
    const e1 = envelopeOf(v1);
    const e2 = envelopeOf(v2);
    const flip = (b64: string, at: number): string => {
      const buf = Buffer.from(b64, 'base64');
      buf[((at % buf.length) + buf.length) % buf.length]! ^= 0x01;
      return buf.toString('base64');
    };
    const cases: Array<[string, () => unknown]> = [
      ['v1 under another key', () => decodeResponsePayload(v1, other, kernelId)],
      ['v2 under another key', () => decodeResponsePayload(v2, other, kernelId)],
      ['v1 for another kernel', () => decodeResponsePayload(v1, kp, 'another-kernel')],
      ['v2 for another kernel', () => decodeResponsePayload(v2, kp, 'another-kernel')],
      ['v2 with its kernel id relabelled', () => decodeResponsePayload(b64json({ ...e2, kernel_id: 'x' }), kp, 'x')],
      ['v1 wrapped key tampered', () => decodeResponsePayload(b64json({ ...e1, key: flip(e1.key as string, 100) }), kp, kernelId)],
      ['v1 wrapped key not below the modulus', () => decodeResponsePayload(b64json({ ...e1, key: Buffer.alloc(256, 0xff).toString('base64') }), kp, kernelId)],
      ['v1 wrapped key truncated', () => decodeResponsePayload(b64json({ ...e1, key: Buffer.from(e1.key as string, 'base64').subarray(1).toString('base64') }), kp, kernelId)],
      ['v1 conn_info tampered', () => decodeResponsePayload(b64json({ ...e1, conn_info: flip(e1.conn_info as string, -1) }), kp, kernelId)],
      ['v1 conn_info truncated', () => decodeResponsePayload(b64json({ ...e1, conn_info: Buffer.from(e1.conn_info as string, 'base64').subarray(16).toString('base64') }), kp, kernelId)],
      ['v2 ciphertext tampered', () => decodeResponsePayload(b64json({ ...e2, conn_info: flip(e2.conn_info as string, 3) }), kp, kernelId)],
      ['v2 tag tampered', () => decodeResponsePayload(b64json({ ...e2, conn_info: flip(e2.conn_info as string, -1) }), kp, kernelId)],
      ['v2 nonce tampered', () => decodeResponsePayload(b64json({ ...e2, nonce: flip(e2.nonce as string, 0) }), kp, kernelId)],
      ['v2 wrapped key tampered', () => decodeResponsePayload(b64json({ ...e2, key: flip(e2.key as string, 7) }), kp, kernelId)],
      ['v2 without a comm secret', () => decodeResponsePayload(encodeResponsePayload(connInfo(), kp.publicKey, { version: 2, kernelId }), kp, kernelId)],
      ['v1 with a bad port', () => decodeResponsePayload(encodeResponsePayload(connInfo({ shell_port: 70000 }), kp.publicKey, { version: 1, kernelId }), kp, kernelId)],
      ['v1 without a key', () => decodeResponsePayload(encodeResponsePayload(connInfo({ key: undefined }), kp.publicKey, { version: 1, kernelId }), kp, kernelId)],
    ];
    const messages = new Set<string>();
    for (const [name, fn] of cases) {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expect(caught, name).toBeInstanceOf(ResponsePayloadError);
      expect((caught as ResponsePayloadError).reason, name).toBe('rejected');
      messages.add((caught as Error).message + JSON.stringify((caught as ResponsePayloadError).details));
    }
    expect(messages.size).toBe(1);
  });

  it('drops garbage and oversized input before any decryption', () => {
    expect(rejection(() => parseResponseEnvelope('not base64 at all!'))).toBe('malformed');
    expect(rejection(() => parseResponseEnvelope(''))).toBe('malformed');
    expect(rejection(() => parseResponseEnvelope(b64json({ version: 1, key: 'a' })))).toBe('malformed');
    expect(rejection(() => parseResponseEnvelope(b64json({ version: 3, key: 'AAAA', conn_info: 'AAAA' })))).toBe('version');
    expect(rejection(() => parseResponseEnvelope(b64json([1, 2, 3])))).toBe('version');
    expect(rejection(() => parseResponseEnvelope(Buffer.alloc(70 * 1024, 0x41)))).toBe('oversized');
    expect(rejection(() => parseResponseEnvelope(Buffer.alloc(2000, 0x41), { maxBytes: 1024 }))).toBe('oversized');
  });

  it('publishes the public key as base64 DER SPKI (the reference --public-key format)', () => {
    const der = Buffer.from(kp.publicKey, 'base64');
    expect(der[0]).toBe(0x30); // SEQUENCE
    expect(kp.publicKey).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // rsaEncryption OID 1.2.840.113549.1.1.1
    expect(der.includes(Buffer.from('2a864886f70d010101', 'hex'))).toBe(true);
  });
});
