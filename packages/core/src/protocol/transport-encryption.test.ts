import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging.js';
import {
  checkTransportEncryptionResponse,
  isCurveKey,
  kernelSpecSupportsCurve,
  resolveTransportEncryption,
  transportEncryptionOption,
} from './transport-encryption.js';
import type { KernelConnectionInfo } from './types.js';

// A real CurveZMQ pair (Z85), as zmq.curve_keypair() makes them.
const PUB = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';
const SEC = 'JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6';

function info(extra: Partial<KernelConnectionInfo> = {}): KernelConnectionInfo {
  return { kernel_id: 'k1', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, ip: '0.0.0.0', key: 'k', transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: '', response_version: 2, ...extra };
}

const curveSpec = { argv: ['x', '--transport-encryption', '{transport_encryption}'], metadata: { supported_encryption: ['curve'] } };

describe('transport encryption policy', () => {
  it('is one option: GP_TRANSPORT_ENCRYPTION / --transport-encryption, default auto', () => {
    expect(transportEncryptionOption).toMatchObject({ name: 'transport_encryption', env: ['GP_TRANSPORT_ENCRYPTION'], flag: 'transport-encryption', default: 'auto', choices: ['disabled', 'auto', 'required'] });
  });

  it('reads supported_encryption as jupyter_client does (string or list, any case)', () => {
    expect(kernelSpecSupportsCurve({ metadata: { supported_encryption: 'CURVE' } })).toBe(true);
    expect(kernelSpecSupportsCurve({ metadata: { supported_encryption: ['tls', ' Curve '] } })).toBe(true);
    expect(kernelSpecSupportsCurve({ metadata: { supported_encryption: ['tls'] } })).toBe(false);
    expect(kernelSpecSupportsCurve({ metadata: {} })).toBe(false);
  });

  it('enables with a capable kernelspec; disabled never does', () => {
    expect(resolveTransportEncryption({ kernelId: 'k1', policy: 'auto', kernelSpec: curveSpec })).toEqual({ policy: 'auto', enabled: true });
    expect(resolveTransportEncryption({ kernelId: 'k1', policy: 'disabled', kernelSpec: curveSpec })).toEqual({ policy: 'disabled', enabled: false });
  });

  it('Z85 keys are 40 characters of the Z85 alphabet', () => {
    expect(isCurveKey(PUB)).toBe(true);
    expect(isCurveKey(PUB.slice(1))).toBe(false);
    expect(isCurveKey(`${PUB.slice(1)}~`)).toBe(false);
    expect(isCurveKey(undefined)).toBe(false);
  });
});

describe('checkTransportEncryptionResponse', () => {
  it('keys returned: encrypted', () => {
    expect(checkTransportEncryptionResponse(info({ curve_publickey: PUB, curve_secretkey: SEC }), { policy: 'auto', enabled: true })).toEqual({ encrypted: true });
  });

  it('required without keys: GP_TRANSPORT_ENCRYPTION_UNAVAILABLE naming the image as the cause', () => {
    expect(() => checkTransportEncryptionResponse(info(), { policy: 'required', enabled: true })).toThrow(
      expect.objectContaining({ code: 'GP_TRANSPORT_ENCRYPTION_UNAVAILABLE', message: expect.stringContaining('did not return CurveZMQ keys') }),
    );
  });

  it('auto without keys: a warning, in the clear', () => {
    expect(checkTransportEncryptionResponse(info(), { policy: 'auto', enabled: true })).toMatchObject({ encrypted: false, warning: expect.stringContaining('did not return CurveZMQ keys') });
  });

  it('a half or malformed pair is dropped, never handed to a client', () => {
    const half = info({ curve_publickey: PUB, curve_secretkey: 'short' });
    expect(checkTransportEncryptionResponse(half, { policy: 'auto', enabled: false })).toEqual({ encrypted: false });
    expect(half.curve_publickey).toBeUndefined();
    expect(half.curve_secretkey).toBeUndefined();
  });

  it('keys are redacted from logs', () => {
    const lines: string[] = [];
    const log = createLogger({ name: 't', write: (l) => lines.push(l), format: 'json' });
    log.info('x', { curve_publickey: PUB, curve_secretkey: SEC, info: { curve_secretkey: SEC } });
    expect(lines.join('\n')).not.toContain(SEC);
    expect(lines.join('\n')).not.toContain(PUB);
  });
});
