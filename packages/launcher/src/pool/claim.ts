/**
 * The host's side of the claim protocol (README.md, "Claim protocol"): one TCP exchange with a pooled pod's
 * launcher, authenticated with the pod's claim token (HMAC over the pod's fresh nonce), never sending the token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { GpError } from '@gp/core';

export const CLAIM_MAC_PREFIX = 'gp-claim-v1\n';
export const CLAIM_OK_PREFIX = 'gp-claim-ok\n';
const MAX_REPLY_BYTES = 4096;

export interface ClaimBody {
  kernel_id: string;
  response_address: string;
  public_key: string;
  /** The payload versions the host reads (`GP_RESPONSE_VERSIONS`), e.g. `2,1`. */
  response_versions: string;
}

export interface ClaimTarget {
  host: string;
  port: number;
}

/** A claim the pod did not take (refused, unreachable, no valid answer): the caller launches cold instead. */
export class PoolClaimError extends GpError {
  constructor(message: string, details: Record<string, unknown>, cause?: unknown) {
    super('GP_POOL_CLAIM_FAILED', message, { httpStatus: 502, details, ...(cause === undefined ? {} : { cause }) });
  }
}

export function claimMac(token: string, nonce: string, body: string): string {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(`${CLAIM_MAC_PREFIX}${nonce}\n${body}`).digest('hex');
}

function okMac(token: string, nonce: string): string {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(`${CLAIM_OK_PREFIX}${nonce}`).digest('hex');
}

/** Reads newline-terminated lines from a socket, within a byte budget. */
function lineReader(sock: Socket): { next(): Promise<string> } {
  let buf = '';
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  sock.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    if (buf.length > MAX_REPLY_BYTES) sock.destroy(new Error('reply too large'));
    wake?.();
  });
  sock.on('end', () => {
    ended = true;
    wake?.();
  });
  sock.on('close', () => {
    ended = true;
    wake?.();
  });
  sock.on('error', (e) => {
    failure = e;
    wake?.();
  });
  return {
    async next(): Promise<string> {
      for (;;) {
        const i = buf.indexOf('\n');
        if (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          return line;
        }
        if (failure) throw failure;
        if (ended) {
          const rest = buf;
          buf = '';
          if (rest) return rest;
          throw new Error('connection closed');
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

function open(target: ClaimTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: target.host, port: target.port });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

function helloNonce(line: string): string {
  const hello = JSON.parse(line) as { gp_claim?: unknown; nonce?: unknown };
  if (hello.gp_claim !== 1 || typeof hello.nonce !== 'string' || !/^[0-9a-f]{16,128}$/.test(hello.nonce)) throw new Error('not a gp claim port');
  return hello.nonce;
}

/**
 * Whether the pooled pod's launcher is waiting for a claim (it greets only once its kernel process was started):
 * reads the greeting and closes without claiming. Never throws.
 */
export async function probeClaimPort(target: ClaimTarget, timeoutMs = 2000): Promise<boolean> {
  let sock: Socket | undefined;
  try {
    sock = await open(target, timeoutMs);
    helloNonce(await lineReader(sock).next());
    return true;
  } catch {
    return false;
  } finally {
    sock?.destroy();
  }
}

/**
 * Claims the pod: answers its nonce with the authenticated claim and checks the pod's authenticated `ok`.
 * Throws `PoolClaimError` when the pod is unreachable, refuses, or answers without a valid MAC.
 */
export async function sendClaim(target: ClaimTarget, token: string, body: ClaimBody, timeoutMs = 5000): Promise<void> {
  const where = { host: target.host, port: target.port, kernelId: body.kernel_id };
  let sock: Socket | undefined;
  try {
    sock = await open(target, timeoutMs);
    const lines = lineReader(sock);
    const nonce = helloNonce(await lines.next());
    const text = JSON.stringify(body);
    sock.end(JSON.stringify({ body: text, mac: claimMac(token, nonce, text) }));
    const reply = JSON.parse(await lines.next()) as { ok?: unknown; mac?: unknown; error?: unknown };
    if (reply.ok !== true) {
      throw new PoolClaimError(`The pooled pod at ${target.host}:${target.port} refused the claim for kernel ${body.kernel_id}: ${typeof reply.error === 'string' ? reply.error : 'no reason'}.`, { ...where, error: reply.error });
    }
    const want = Buffer.from(okMac(token, nonce), 'utf8');
    const got = Buffer.from(typeof reply.mac === 'string' ? reply.mac : '', 'utf8');
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new PoolClaimError(`The answer from ${target.host}:${target.port} to the claim for kernel ${body.kernel_id} is not authenticated with the pod's token; not the pooled pod.`, where);
    }
  } catch (e) {
    if (e instanceof PoolClaimError) throw e;
    throw new PoolClaimError(`Could not claim the pooled pod at ${target.host}:${target.port} for kernel ${body.kernel_id}: ${(e as Error).message}.`, where, e);
  } finally {
    sock?.destroy();
  }
}
