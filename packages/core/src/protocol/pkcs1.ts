/**
 * PKCS#1 v1.5 encryption padding removal (EME-PKCS1-v1_5 decoding, RFC 8017 §7.2.2), written for
 * Node 20, whose `privateDecrypt` refuses `RSA_PKCS1_PADDING` (CVE-2023-46809). The host decrypts
 * with `RSA_NO_PADDING` and unpads here.
 *
 * Written in a branch-free style over the whole block: the work done and the memory touched do not
 * depend on where (or whether) the padding is wrong. The message length is fixed by the protocol
 * (a 16-byte AES key), so the message is always read from the same position. On bad padding the
 * caller gets `ok: false` and a substitute message of the right length (implicit rejection), so
 * the following steps run the same way and fail the same way.
 */

/** 1 if x === 0, else 0, for 0 <= x < 2^31. */
function isZero(x: number): number {
  return ((x | -x) >>> 31) ^ 1;
}

/** 1 if a >= b, else 0, for 0 <= a, b < 2^31. */
function greaterOrEqual(a: number, b: number): number {
  return ((a - b) >>> 31) ^ 1;
}

export interface Pkcs1UnpadResult {
  ok: boolean;
  /** The message if `ok`, otherwise `substitute`. Always `expectedLength` bytes. */
  message: Buffer;
}

/**
 * @param em the raw RSA block (`k` bytes: 00 02 PS 00 M)
 * @param expectedLength the only acceptable message length
 * @param substitute `expectedLength` bytes returned instead of the message when the padding is bad
 */
export function unpadPkcs1v15(em: Uint8Array, expectedLength: number, substitute: Uint8Array): Pkcs1UnpadResult {
  const k = em.length;
  if (substitute.length !== expectedLength) throw new RangeError('substitute must have the expected length');
  if (k < expectedLength + 11) return { ok: false, message: Buffer.from(substitute) };

  let good = isZero(em[0]!) & isZero(em[1]! ^ 2);
  let zeroIndex = 0;
  let looking = 1;
  for (let i = 2; i < k; i++) {
    const zero = isZero(em[i]!);
    const take = zero & looking;
    zeroIndex |= -take & i;
    looking &= zero ^ 1;
  }
  good &= looking ^ 1; // a separator exists
  good &= greaterOrEqual(zeroIndex, 10); // at least 8 bytes of non-zero padding
  good &= isZero(k - zeroIndex - 1 - expectedLength); // the message has exactly the expected length

  const mask = -good & 0xff;
  const start = k - expectedLength;
  const message = Buffer.alloc(expectedLength);
  for (let i = 0; i < expectedLength; i++) {
    message[i] = (em[start + i]! & mask) | (substitute[i]! & ~mask & 0xff);
  }
  return { ok: good === 1, message };
}
