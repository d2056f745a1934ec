/**
 * Requests to a kernel launcher's comm port: `{"signum": n}` (interrupt and other signals) and
 * `{"shutdown": 1}`, one JSON object per TCP connection, as the reference launchers expect.
 *
 * gp's launchers (response version 2) authenticate requests with the per-kernel `comm_secret` they
 * sent inside the encrypted payload, by challenge and response:
 *   launcher → host: `{"gp_comm":2,"nonce":"<base64 32 random bytes>"}\n`
 *   host → launcher: `{"body":"<request JSON>","mac":"<hex HMAC-SHA256(secret, 'gp-comm-v2\n' + nonce + '\n' + body)>"}`, then EOF
 *   launcher → host: `{"ok":true}` or `{"ok":false,"error":"..."}`, then close.
 * The nonce is fresh per connection, so a recorded request cannot be replayed, and nothing depends
 * on the clocks of host and pod agreeing.
 */
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { silentLogger, type Logger } from '../logging.js';
import { CommRequestError } from './errors.js';

export type CommRequest = { signum: number } | { shutdown: 1 };

export interface CommTarget {
  host: string;
  port: number;
}

export interface CommRequestOptions {
  /** The kernel's `comm_secret` (base64, from a version 2 payload): authenticate the request. */
  secret?: string;
  /** Inactivity timeout of the exchange. Default 5 s. */
  timeoutMs?: number;
  /**
   * Connections tried when the launcher drops one before the request went out (a full comm port
   * evicts its oldest idle connection; see the protocol README). Default 4. A request that was sent
   * is never sent again.
   */
  attempts?: number;
  logger?: Logger;
}

export interface CommResult {
  /** False when nobody listened (ECONNREFUSED: the launcher's listener is gone), which is not an error. */
  delivered: boolean;
  /** Whether the exchange was authenticated (gp launcher). */
  authenticated: boolean;
}

export const COMM_MAC_PREFIX = 'gp-comm-v2\n';
const MAX_REPLY_BYTES = 4096;

/** The MAC of a comm request: hex HMAC-SHA256(secret, "gp-comm-v2\n" + nonce + "\n" + body). */
export function commMac(secret: Buffer, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${COMM_MAC_PREFIX}${nonce}\n${body}`, 'utf8').digest('hex');
}

function validateRequest(request: CommRequest): string {
  if ('signum' in request) {
    if (!Number.isInteger(request.signum) || request.signum < 0 || request.signum > 64) {
      throw new CommRequestError(`Invalid signal number ${JSON.stringify(request.signum)}: expected an integer from 0 to 64.`, {
        httpStatus: 400,
        details: { signum: request.signum },
      });
    }
    return JSON.stringify({ signum: request.signum });
  }
  return JSON.stringify({ shutdown: 1 });
}

function parseJsonLine(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one request to a launcher's comm port. Resolves `{delivered: false}` when the connection is
 * refused (quietly, as the reference does); throws `CommRequestError` when the launcher refuses the
 * request, the exchange times out, or the network fails otherwise.
 */
export async function sendCommRequest(
  target: CommTarget,
  request: CommRequest,
  options: CommRequestOptions = {},
): Promise<CommResult> {
  const body = validateRequest(request);
  const secret = options.secret !== undefined ? Buffer.from(options.secret, 'base64') : undefined;
  if (secret && secret.length < 16) {
    throw new CommRequestError('The comm secret is too short: expected at least 16 bytes of base64.', { httpStatus: 500 });
  }
  const attempts = Math.max(1, options.attempts ?? 4);
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptCommRequest(target, body, secret, options);
    } catch (err) {
      if (!(err instanceof NotSentError) || attempt >= attempts) throw err;
      (options.logger ?? silentLogger).debug('Comm connection dropped before the request was sent; trying again', {
        target: `${target.host}:${target.port}`,
        attempt,
      });
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** The launcher dropped the connection before the request went out: safe to try again. */
class NotSentError extends CommRequestError {}

function attemptCommRequest(
  target: CommTarget,
  body: string,
  secret: Buffer | undefined,
  options: CommRequestOptions,
): Promise<CommResult> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = `${target.host}:${target.port}`;

  return new Promise<CommResult>((resolve, reject) => {
    let settled = false;
    let received = Buffer.alloc(0);
    let sent = false;
    const socket = connect({ host: target.host, port: target.port });
    const fail = (message: string, details: Record<string, unknown> = {}, cause?: unknown, retryable = !sent): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const Err = retryable ? NotSentError : CommRequestError;
      reject(new Err(message, { details: { target: where, ...details }, ...(cause ? { cause } : {}) }));
    };
    const succeed = (result: CommResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(`The kernel launcher at ${where} did not complete the comm request within ${timeoutMs} ms.`, { timeoutMs }, undefined, false),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        logger.debug('Comm port refused the connection; the launcher listener is gone', { target: where });
        succeed({ delivered: false, authenticated: false });
        return;
      }
      fail(`Comm request to ${where} failed: ${err.message}`, { errno: err.code }, err);
    });
    socket.on('connect', () => {
      if (!secret) {
        // Reference launchers read until EOF and never answer.
        socket.end(body);
        sent = true;
      }
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > MAX_REPLY_BYTES) {
        fail(`The kernel launcher at ${where} sent an oversized reply.`, {}, undefined, false);
        return;
      }
      if (secret && !sent) {
        const nl = received.indexOf(0x0a);
        if (nl < 0) return;
        const challenge = parseJsonLine(received.subarray(0, nl).toString('utf8'));
        received = received.subarray(nl + 1);
        const nonce = challenge?.nonce;
        if (challenge?.gp_comm !== 2 || typeof nonce !== 'string' || nonce.length < 16) {
          fail(`The kernel launcher at ${where} did not send a gp comm challenge; is it a gp launcher?`, {}, undefined, false);
          return;
        }
        socket.end(JSON.stringify({ body, mac: commMac(secret, nonce, body) }));
        sent = true;
      }
    });
    socket.on('end', () => {
      if (!sent) {
        fail(`The kernel launcher at ${where} closed the connection before the request was sent.`);
        return;
      }
      const text = received.toString('utf8');
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      // Unauthenticated request to a gp launcher: the challenge, then the refusal.
      const replies = lines.map(parseJsonLine).filter((r): r is Record<string, unknown> => r !== undefined && 'ok' in r);
      const reply = replies[replies.length - 1];
      if (reply && reply.ok !== true) {
        const why = typeof reply.error === 'string' ? reply.error : 'refused';
        fail(
          secret
            ? `The kernel launcher at ${where} refused the comm request: ${why}.`
            : `The kernel launcher at ${where} refused an unauthenticated comm request (${why}); it needs the kernel's comm secret.`,
          { refused: why },
        );
        return;
      }
      if (secret && !reply) {
        fail(`The kernel launcher at ${where} did not acknowledge the comm request.`);
        return;
      }
      logger.debug('Comm request delivered', { target: where, request: body, authenticated: !!secret });
      succeed({ delivered: true, authenticated: !!secret });
    });
    socket.on('close', () => {
      if (!settled && sent && !secret) succeed({ delivered: true, authenticated: false });
    });
  });
}
