/**
 * The HTTP and WebSocket front: token auth, routing, JSON bodies and errors as Jupyter Server writes them
 * (`{"message", "reason"}`), plus gp's `code` and `details` so launch failures keep their cause.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GpError, type Logger } from '@gp/core';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KernelManager } from './kernels.js';
import { NotFoundError, kernelspecModel, type KernelSpecCatalog } from './kernelspecs.js';
import { parseStartKernelBody, BadRequestError } from './policy.js';
import { allowedMethods, matchRoute, normalizeBaseUrl, type Route } from './router.js';
import { CONTENT_TYPE as METRICS_CONTENT_TYPE } from './metrics/registry.js';
import { clientCertificateRefusal } from './tls.js';
import { ConnectionSlots, isOriginAllowed, isRefusal, originRefusal, type Refusal } from './ws-admission.js';

export const GATEWAY_VERSION = '0.1.0';
const MAX_BODY_BYTES = 1024 * 1024;

export interface HandlerOptions {
  token: string;
  baseUrl: string;
  allowedEnv: readonly string[];
  kernels: KernelManager;
  specs: KernelSpecCatalog;
  logger: Logger;
  /** Readiness: false until re-attachment finished, and again while shutting down. */
  isReady(): boolean;
  /** Origins allowed to open WebSockets besides same-origin ones and clients sending none; `*` allows all. */
  allowOrigin: readonly string[];
  /** Largest WebSocket message (bytes) a client may send; a bigger one closes its connection with 1009. */
  maxMessageSize: number;
  maxConnectionsPerKernel: number;
  maxConnections: number;
  /** The Prometheus exposition for `GET /metrics` (token required here; see --metrics-port). */
  metrics?: () => string;
  /** --client-ca is set: every endpoint but /healthz and /readyz needs a client certificate it signed. */
  clientCertRequired?: boolean;
  /** GP_NAMESPACE (default `default`): a request's KERNEL_NAMESPACE equal to it is dropped rather than refused. */
  namespace?: string;
}

/** How long a refused upgrade's socket may linger before it is destroyed (a client that never reads). */
const REFUSAL_LINGER_MS = 5000;

/** Pings a client may leave unanswered in a row before it is disconnected. */
const MAX_UNANSWERED_PINGS = 2;

export class UnauthorizedError extends GpError {
  constructor() {
    super('GP_UNAUTHORIZED', 'Missing or wrong token: send "Authorization: token <token>" (or ?token=<token> on WebSocket URLs).', { httpStatus: 403 });
  }
}

/** Constant-time token check of the Authorization header (`token X`, also `Bearer X`) or `?token=`. */
export function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^(?:token|bearer)\s+(.+)$/i.exec(header.trim());
  const given = match?.[1] ?? url.searchParams.get('token') ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/** The error body: Jupyter Server's `message`/`reason` (its gateway client reads those), gp's `code`/`details`. */
export function errorBody(error: unknown): { status: number; body: Record<string, unknown> } {
  if (error instanceof GpError) {
    const failureReason = typeof error.details.reason === 'string' ? error.details.reason : undefined;
    return {
      status: error.httpStatus,
      body: { message: error.message, reason: failureReason ?? error.code, code: error.code, details: error.details },
    };
  }
  return { status: 500, body: { message: error instanceof Error ? error.message : String(error), reason: 'Internal Server Error', code: 'GP_INTERNAL' } };
}

/** The request's URL, or undefined for a target `URL` cannot parse (e.g. `GET http://[ HTTP/1.1`). */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://gateway');
  } catch {
    return undefined;
  }
}

const BAD_TARGET = { message: 'The request target is not a valid URL.', reason: 'Bad Request', code: 'GP_BAD_REQUEST' };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createHandlers(o: HandlerOptions): {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** One heartbeat round: disconnects clients that left the last pings unanswered, pings the others. */
  pingClients(): void;
  wss: WebSocketServer;
  slots: ConnectionSlots;
} {
  const base = normalizeBaseUrl(o.baseUrl);
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => false, maxPayload: o.maxMessageSize });
  const slots = new ConnectionSlots(o.maxConnectionsPerKernel, o.maxConnections);
  // Which kernel each client is on and how many pings it has left unanswered. A client can hold a socket open
  // without reading it: e.g. Jupyter Server cannot cancel a gateway WebSocket it is still opening when its own
  // client goes away, and keeps the finished connection unread (see the README's Known limits). Its bridge would
  // keep ZeroMQ sockets and queue the kernel's iopub traffic for nobody; once it stops reading it stops
  // answering pings, and the heartbeat closes it.
  const heartbeat = new WeakMap<WebSocket, { kernelId: string; unanswered: number }>();

  async function route(req: IncomingMessage, res: ServerResponse, route: Route): Promise<void> {
    const method = req.method ?? 'GET';
    if (!allowedMethods(route).includes(method)) {
      const allow = allowedMethods(route).join(', ');
      sendJson(res, 405, { message: `Method ${method} is not allowed here; use ${allow}.`, reason: 'Method Not Allowed' }, { Allow: allow });
      return;
    }
    switch (route.kind) {
      case 'api':
        return sendJson(res, 200, { version: GATEWAY_VERSION, gateway: 'gp-gateway' });
      case 'kernelspecs': {
        const specs = o.specs.list();
        return sendJson(res, 200, {
          default: o.specs.defaultKernelName(specs),
          kernelspecs: Object.fromEntries(specs.map((e) => [e.name, kernelspecModel(e, base)])),
        });
      }
      case 'kernelspec':
        return sendJson(res, 200, kernelspecModel(o.specs.get(route.name), base));
      case 'kernelspec-resource': {
        const { data, contentType } = o.specs.resource(route.name, route.file);
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': data.length });
        res.end(data);
        return;
      }
      case 'kernels':
        if (method === 'GET') return sendJson(res, 200, await o.kernels.list());
        {
          const body = parseStartKernelBody(await readBody(req), o.allowedEnv, { namespace: o.namespace });
          if (body.dropped.length > 0) {
            o.logger.warn('Ignored variables of the kernel request\'s env (not allowed; the kernel starts without them).', { dropped: body.dropped.map((d) => `${d.name} (${d.why})`) });
          }
          const name = body.name ?? o.specs.defaultKernelName();
          o.specs.get(name); // 404 before anything is created
          const model = await o.kernels.start(name, body.env);
          return sendJson(res, 201, model, { Location: `${base}/api/kernels/${encodeURIComponent(model.id)}` });
        }
      case 'kernel':
        if (method === 'GET') return sendJson(res, 200, (await o.kernels.get(route.id)).model());
        await o.kernels.shutdown(route.id);
        return sendEmpty(res, 204);
      case 'kernel-action':
        if (route.action === 'interrupt') {
          await o.kernels.interrupt(route.id);
          return sendEmpty(res, 204);
        }
        return sendJson(res, 200, await o.kernels.restart(route.id));
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'readyz':
        return o.isReady() ? sendJson(res, 200, { status: 'ready', kernels: o.kernels.size }) : sendJson(res, 503, { status: 'not ready' });
      case 'metrics': {
        if (!o.metrics) throw new NotFoundError('GP_NO_SUCH_RESOURCE', 'No endpoint at /metrics.', {});
        const text = o.metrics();
        res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case 'kernel-channels':
        return sendJson(res, 400, { message: 'This endpoint takes WebSocket upgrades only.', reason: 'Bad Request' });
    }
  }

  function request(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    if (!url) {
      o.logger.info('request failed', { method: req.method, status: 400, code: BAD_TARGET.code });
      return sendJson(res, 400, BAD_TARGET);
    }
    const matched = matchRoute(url.pathname, base);
    const log = o.logger.child({ method: req.method, path: url.pathname });
    void (async () => {
      try {
        if (!matched) throw new NotFoundError('GP_NO_SUCH_RESOURCE', `No endpoint at ${url.pathname}.`, { path: url.pathname });
        const open = matched.kind === 'healthz' || matched.kind === 'readyz';
        if (!open && o.clientCertRequired) {
          const refusal = clientCertificateRefusal(req);
          if (refusal) throw refusal;
        }
        if (!open && !isAuthorized(req, url, o.token)) throw new UnauthorizedError();
        await route(req, res, matched);
        log.debug('request', { status: res.statusCode });
      } catch (e) {
        const { status, body } = errorBody(e);
        (status >= 500 ? log.error : log.info)('request failed', { status, code: body.code });
        if (!res.headersSent) sendJson(res, status, body);
        else res.end();
      }
    })();
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node takes its own error handler off an upgraded socket: without one, a client's reset at any moment
    // from here on (before a refusal, during the kernel lookup, mid-handshake) would be an unhandled 'error'.
    socket.on('error', (e: NodeJS.ErrnoException) => o.logger.debug('A WebSocket client connection failed.', { code: e.code, path: req.url?.split('?')[0] }));
    const url = requestUrl(req);
    const log = o.logger.child({ path: url?.pathname ?? '(invalid)' });
    const refuse = (r: Refusal): void => {
      log.info('Refused a WebSocket.', { status: r.status, code: r.code });
      if (socket.destroyed) return;
      const body = JSON.stringify({ message: r.message, reason: r.reason, code: r.code });
      const retry = r.status === 503 ? 'Retry-After: 5\r\n' : '';
      socket.end(`HTTP/1.1 ${r.status} ${r.reason}\r\nConnection: close\r\n${retry}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
    };
    if (!url) return refuse({ status: 400, ...BAD_TARGET });
    const matched = matchRoute(url.pathname, base);
    if (!matched || matched.kind !== 'kernel-channels') {
      return refuse({ status: 404, reason: 'Not Found', code: 'GP_NO_SUCH_RESOURCE', message: `No WebSocket endpoint at ${url.pathname}.` });
    }
    if (o.clientCertRequired) {
      const refusal = clientCertificateRefusal(req);
      if (refusal) return refuse({ status: 403, reason: 'Forbidden', code: refusal.code, message: refusal.message });
    }
    if (!isOriginAllowed(req, o.allowOrigin)) return refuse(originRefusal(req.headers.origin ?? ''));
    if (!isAuthorized(req, url, o.token)) {
      const e = new UnauthorizedError();
      return refuse({ status: 403, reason: 'Forbidden', code: e.code, message: e.message });
    }
    const slot = slots.take(matched.id);
    if (isRefusal(slot)) return refuse(slot);
    // Held from here until the connection ends, whichever way it ends.
    socket.once('close', () => slot.release());
    void (async () => {
      let kernel;
      try {
        kernel = await o.kernels.get(matched.id);
      } catch (e) {
        slot.release();
        const { status, body } = errorBody(e);
        return refuse({ status, reason: status === 404 ? 'Not Found' : 'Error', code: String(body.code), message: String(body.message) });
      }
      if (socket.destroyed) return; // the client went away during the lookup
      wss.handleUpgrade(req, socket, head, (ws) => {
        const state = { kernelId: matched.id, unanswered: 0 };
        heartbeat.set(ws, state);
        ws.on('pong', () => (state.unanswered = 0));
        kernel.attach(ws);
        log.info('WebSocket connected.', { kernel_id: matched.id, connections: kernel.bridges.size });
      });
    })().catch((e: unknown) => {
      log.error('A WebSocket upgrade failed.', { error: e });
      socket.destroy();
    });
  }

  function pingClients(): void {
    for (const ws of wss.clients) {
      const state = heartbeat.get(ws);
      if (!state || ws.readyState !== ws.OPEN) continue;
      if (state.unanswered >= MAX_UNANSWERED_PINGS) {
        o.logger.info('Disconnected a WebSocket client that stopped answering pings.', { kernel_id: state.kernelId, unanswered_pings: state.unanswered });
        ws.terminate(); // its 'close' closes the bridge
        continue;
      }
      state.unanswered += 1;
      ws.ping();
    }
  }

  return { request, upgrade, pingClients, wss, slots };
}
