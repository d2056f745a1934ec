/**
 * The `--metrics-port` listener: `GET /metrics` without the token and nothing else (404), so a Prometheus
 * scrape config needs no secret and a NetworkPolicy can open this port to the monitoring namespace alone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@gp/core';
import { CONTENT_TYPE } from './registry.js';

export function metricsRequestHandler(expose: () => string, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    if (path !== '/metrics') return send(404, 'text/plain; charset=utf-8', 'Only /metrics is served on this port.\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'Use GET.\n', { Allow: 'GET, HEAD' });
    try {
      send(200, CONTENT_TYPE, expose());
    } catch (e) {
      logger.error('Writing the metrics failed.', { error: e });
      send(500, 'text/plain; charset=utf-8', 'The metrics could not be written.\n');
    }
  };
}

export function createMetricsServer(expose: () => string, logger: Logger): Server {
  const server = createServer(metricsRequestHandler(expose, logger));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}
