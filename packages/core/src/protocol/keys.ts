import { generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** An RSA key pair for one kernel launch. `publicKey` is what `--public-key` carries. */
export interface ResponseKeyPair {
  /** Base64 of the DER SubjectPublicKeyInfo: a PEM body without header, footer and newlines. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
  /** Modulus length in bytes. */
  readonly modulusBytes: number;
}

/**
 * 2048 bits: the reference launchers just load whatever key they are given, and PKCS#1 v1.5 on a
 * 2048-bit modulus carries the 16-byte AES key of payload version 1 as well as 1024 bits did.
 */
export const DEFAULT_RESPONSE_KEY_BITS = 2048;

function wrap(publicKey: KeyObject, privateKey: KeyObject, bits: number): ResponseKeyPair {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { publicKey: der.toString('base64'), privateKey, modulusBytes: bits / 8 };
}

/** Creates a fresh RSA key pair (asynchronously, so a host's event loop keeps serving). */
export function createResponseKeyPair(bits: number = DEFAULT_RESPONSE_KEY_BITS): Promise<ResponseKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve(wrap(publicKey, privateKey, bits));
    });
  });
}

/** Synchronous variant, for tests and one-off tools. */
export function createResponseKeyPairSync(bits: number = DEFAULT_RESPONSE_KEY_BITS): ResponseKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return wrap(publicKey, privateKey, bits);
}
