/**
 * TLS for the gateway's listener: --certfile/--keyfile (HTTPS and wss:// only) and --client-ca (client
 * certificates signed by that CA required on every endpoint but /healthz and /readyz). The files are read and
 * checked at start, so a bad one is one typed error line, never a listener that fails each handshake.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createSecureContext, type TLSSocket, type SecureContextOptions } from 'node:tls';
import { ConfigError, GpError } from '@gp/core';

export interface TlsSettings {
  certfile: string;
  keyfile: string;
  client_ca: string;
}

/** What https.createServer takes. */
export interface TlsServerOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** A certificate, key or CA file that cannot be used: the one-line reason names the file and the option. */
export class TlsConfigError extends GpError {
  constructor(message: string, details: Record<string, unknown>, cause?: unknown) {
    super('GP_TLS_CONFIG', message, { httpStatus: 500, details, ...(cause === undefined ? {} : { cause }) });
  }
}

/** A request over TLS without a client certificate signed by --client-ca: HTTP 403. */
export class ClientCertificateError extends GpError {
  constructor(reason: string) {
    super('GP_CLIENT_CERT_REQUIRED', `This gateway requires a client certificate signed by its --client-ca (${reason}).`, { httpStatus: 403, details: { tls_error: reason } });
  }
}

function readPem(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    throw new TlsConfigError(`Cannot read --${option.replace(/_/g, '-')}=${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message} (${code}).`, { option, path, errno: code }, e);
  }
}

/** The first line of an OpenSSL error, without its `error:0A00...:` prefix. */
function opensslReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n')[0] ?? message).replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '').trim();
}

/** Reads and checks the TLS files; `undefined` when TLS is off. Throws `ConfigError` / `TlsConfigError`. */
export function loadTls(s: TlsSettings): TlsServerOptions | undefined {
  const given = { certfile: s.certfile !== '', keyfile: s.keyfile !== '' };
  if (!given.certfile && !given.keyfile) {
    if (s.client_ca) throw new ConfigError('client_ca', { kind: 'flag', name: 'client-ca' }, s.client_ca, 'no --client-ca without --certfile and --keyfile (client certificates need TLS)');
    return undefined;
  }
  if (!given.certfile || !given.keyfile) {
    const missing = given.certfile ? 'keyfile' : 'certfile';
    throw new ConfigError(missing, { kind: 'flag', name: missing }, '', `--certfile and --keyfile together (TLS needs both; --${missing} is missing)`);
  }
  const options: TlsServerOptions = {
    cert: readPem('certfile', s.certfile),
    key: readPem('keyfile', s.keyfile),
    ...(s.client_ca ? { ca: readPem('client_ca', s.client_ca) } : {}),
    // Client certificates are checked per request (server.ts), so probes can reach /healthz and /readyz.
    requestCert: s.client_ca !== '',
    rejectUnauthorized: false,
  };
  try {
    createSecureContext(options);
  } catch (e) {
    const reason = opensslReason(e);
    const which = /key values mismatch/i.test(reason)
      ? `--keyfile=${s.keyfile} is not the key of --certfile=${s.certfile}`
      : `--certfile=${s.certfile}, --keyfile=${s.keyfile}${s.client_ca ? ` or --client-ca=${s.client_ca}` : ''} is not valid PEM of its kind`;
    throw new TlsConfigError(`Cannot use the TLS files: ${which} (${reason}).`, { certfile: s.certfile, keyfile: s.keyfile, client_ca: s.client_ca || undefined, reason }, e);
  }
  return options;
}

/** With --client-ca: undefined when the request's connection presented a certificate the CA signed, else the refusal. */
export function clientCertificateRefusal(req: IncomingMessage): ClientCertificateError | undefined {
  const socket = req.socket as TLSSocket;
  if (socket.authorized) return undefined;
  const error = socket.authorizationError ? String((socket.authorizationError as NodeJS.ErrnoException).code ?? socket.authorizationError) : '';
  const signedElsewhere = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT'];
  if (socket.getPeerCertificate && Object.keys(socket.getPeerCertificate()).length === 0) return new ClientCertificateError('no client certificate was presented');
  return new ClientCertificateError(signedElsewhere.includes(error) ? `the client certificate is not signed by it: ${error}` : `the client certificate was not accepted: ${error || 'unknown'}`);
}
