/**
 * Who may open a kernel WebSocket, decided before the upgrade: the `Origin` check (Jupyter Server's
 * `allow_origin` rules) and the connection caps (per kernel and in total), each answered with a clear HTTP
 * refusal rather than a connection the gateway cannot afford.
 */
import type { IncomingMessage } from 'node:http';

/** A refusal before the upgrade: the HTTP status and what the client is told. */
export interface Refusal {
  status: number;
  reason: string;
  code: string;
  message: string;
}

/**
 * Jupyter Server's `check_origin`: no `Origin` (server-side clients such as Jupyter Server's gateway client
 * send none) or no `Host` is allowed; `*` allows any origin; an Origin whose host is the request's `Host`
 * (same origin) is allowed; otherwise the Origin must be one of `allowOrigin` exactly (case-insensitive).
 */
export function isOriginAllowed(req: IncomingMessage, allowOrigin: readonly string[]): boolean {
  if (allowOrigin.includes('*')) return true;
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (origin === undefined || host === undefined) return true;
  const lower = origin.toLowerCase();
  let originHost: string;
  try {
    originHost = new URL(lower).host;
  } catch {
    originHost = '';
  }
  if (originHost !== '' && originHost === host.toLowerCase()) return true;
  return allowOrigin.some((allowed) => allowed.toLowerCase() === lower);
}

export function originRefusal(origin: string): Refusal {
  return {
    status: 403,
    reason: 'Forbidden',
    code: 'GP_ORIGIN_NOT_ALLOWED',
    message: `WebSocket connections from origin ${JSON.stringify(origin)} are not allowed; the gateway's --allow-origin lists the allowed origins ('*' allows all).`,
  };
}

/** A held connection slot; `release()` is idempotent. */
export interface Slot {
  release(): void;
}

/**
 * Counts kernel WebSockets, including those still being set up (between the request and the open), so a
 * burst of upgrades cannot overshoot the caps.
 */
export class ConnectionSlots {
  private total = 0;
  private readonly perKernel = new Map<string, number>();

  constructor(
    readonly maxPerKernel: number,
    readonly maxTotal: number,
  ) {}

  get count(): number {
    return this.total;
  }

  countFor(kernelId: string): number {
    return this.perKernel.get(kernelId) ?? 0;
  }

  /** A slot for a WebSocket on `kernelId`, or the refusal when a cap is reached. */
  take(kernelId: string): Slot | Refusal {
    if (this.total >= this.maxTotal) {
      return {
        status: 503,
        reason: 'Service Unavailable',
        code: 'GP_TOO_MANY_CONNECTIONS',
        message: `The gateway has ${this.total} kernel WebSockets open, its limit (--ws-max-connections=${this.maxTotal}); try again later.`,
      };
    }
    const here = this.countFor(kernelId);
    if (here >= this.maxPerKernel) {
      return {
        status: 503,
        reason: 'Service Unavailable',
        code: 'GP_TOO_MANY_KERNEL_CONNECTIONS',
        message: `Kernel ${kernelId} has ${here} WebSockets open, the limit per kernel (--ws-max-connections-per-kernel=${this.maxPerKernel}); close one or try again later.`,
      };
    }
    this.total += 1;
    this.perKernel.set(kernelId, here + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.total -= 1;
        const left = this.countFor(kernelId) - 1;
        if (left > 0) this.perKernel.set(kernelId, left);
        else this.perKernel.delete(kernelId);
      },
    };
  }
}

export function isRefusal(x: Slot | Refusal): x is Refusal {
  return 'status' in x;
}
