import { constants, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createResponseKeyPairSync } from './keys.js';
import { unpadPkcs1v15 } from './pkcs1.js';

function block(parts: number[][]): Buffer {
  return Buffer.from(parts.flat());
}

describe('unpadPkcs1v15', () => {
  const sub = Buffer.alloc(16, 0xaa);
  const msg = [...Array(16).keys()].map((i) => i + 1);
  const ps = (n: number): number[] => Array(n).fill(0x5a);

  it('returns the message of a well-formed block', () => {
    const em = block([[0, 2], ps(128 - 3 - 16), [0], msg]);
    const r = unpadPkcs1v15(em, 16, sub);
    expect(r.ok).toBe(true);
    expect([...r.message]).toEqual(msg);
  });

  it.each([
    ['first byte not zero', block([[1, 2], ps(109), [0], msg])],
    ['block type 1 (signature padding)', block([[0, 1], ps(109), [0], msg])],
    ['no separator', block([[0, 2], ps(126)])],
    ['padding string shorter than 8 bytes', block([[0, 2], ps(7), [0], msg, ps(128 - 2 - 7 - 1 - 16)])],
    ['message longer than expected', block([[0, 2], ps(108), [0], msg, [7]])],
    ['message shorter than expected', block([[0, 2], ps(110), [0], msg.slice(1)])],
    ['block too short for any message', block([[0, 2], ps(10)])],
  ])('rejects %s and returns the substitute', (_name, em) => {
    const r = unpadPkcs1v15(em, 16, sub);
    expect(r.ok).toBe(false);
    expect(r.message.equals(sub)).toBe(true);
  });

  it('unpads what OpenSSL pads (RSA_NO_PADDING decrypt of a PKCS#1 v1.5 ciphertext)', () => {
    const kp = createResponseKeyPairSync(1024);
    for (let i = 0; i < 5; i++) {
      const key = randomBytes(16);
      const ct = publicEncrypt({ key: kp.privateKey, padding: constants.RSA_PKCS1_PADDING }, key);
      const em = privateDecrypt({ key: kp.privateKey, padding: constants.RSA_NO_PADDING }, ct);
      const r = unpadPkcs1v15(em, 16, sub);
      expect(r.ok).toBe(true);
      expect(r.message.equals(key)).toBe(true);
    }
  });
});
