/**
 * The two API calls a resource watch makes, LIST and WATCH, over plain node:http(s) with the request
 * options (agent, TLS material, auth headers) that client-node's KubeConfig computes.
 *
 * Why not client-node 1.4.0's `Watch`: its client-side timeout is dead code (the timeout signal is
 * overwritten), and the AbortController it returns only arrives after the response headers, so a
 * request that hangs before the headers cannot be aborted at all. Here the caller's signal covers the
 * whole request, from connect to the last line.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { reportKubeRequest } from '../kube-observer.js';
import { KubeApiError } from './errors.js';
import type { KubeObject } from './types.js';

export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface ListPage<T extends KubeObject = KubeObject> {
  resourceVersion: string;
  items: T[];
  continueToken?: string;
}

/** One line of a watch stream: `ADDED` / `MODIFIED` / `DELETED` / `BOOKMARK` / `ERROR`. */
export interface RawWatchEvent {
  type: string;
  object: unknown;
}

export interface KubeTransport {
  /** Names the cluster and credentials, for logs and for keying shared watches. */
  readonly identity: string;
  /** GET a collection (one page). Rejects with {@link KubeApiError} on a non-2xx answer. */
  list(path: string, query: QueryParams, signal: AbortSignal): Promise<ListPage>;
  /**
   * GET a collection with `watch=true` and call `onEvent` per line. Resolves when the server ends the
   * stream; rejects with {@link KubeApiError} on a non-2xx answer, with the abort reason when `signal`
   * aborts, or with the transport error.
   */
  watch(path: string, query: QueryParams, onEvent: (event: RawWatchEvent) => void, signal: AbortSignal): Promise<void>;
}

function buildUrl(server: string, path: string, query: QueryParams): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error(typeof r === 'string' ? r : 'The operation was aborted');
  e.name = 'AbortError';
  return e;
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Builds a KubeApiError from a non-2xx response; the body is a v1 Status when the server wrote one. */
export function apiErrorFromBody(statusCode: number, body: string, path: string): KubeApiError {
  let reason: string | undefined;
  let message: string | undefined;
  try {
    const status = JSON.parse(body) as { reason?: string; message?: string };
    reason = status.reason;
    message = status.message;
  } catch {
    message = body.trim().slice(0, 300) || http.STATUS_CODES[statusCode];
  }
  return new KubeApiError(statusCode, reason, message, path);
}

/**
 * A transport for the current context of `kc`. Credentials are applied per request, so rotating
 * tokens (exec plugins, projected service-account tokens) keep working on long-lived watches.
 */
export function kubeConfigTransport(kc: KubeConfig): KubeTransport {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const identity = `${cluster?.server ?? '?'}#${user?.name ?? '?'}#${kc.getCurrentContext()}`;

  async function open(path: string, query: QueryParams, signal: AbortSignal): Promise<http.IncomingMessage> {
    const watch = query.watch === true;
    const current = kc.getCurrentCluster();
    if (!current) throw new Error('The KubeConfig has no current cluster; load a kubeconfig or in-cluster config first.');
    const url = buildUrl(current.server, path, query);
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    if (signal.aborted) throw abortReason(signal);
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, opts);
      const onAbort = (): void => {
        req.destroy(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) reportKubeRequest(kc, 'GET', path, 0, watch);
        reject(signal.aborted ? abortReason(signal) : err);
      });
      req.on('response', (res) => {
        reportKubeRequest(kc, 'GET', path, res.statusCode ?? 0, watch);
        res.on('close', () => signal.removeEventListener('abort', onAbort));
        resolve(res);
      });
      req.end();
    });
  }

  return {
    identity,
    async list(path, query, signal) {
      const res = await open(path, query, signal);
      const body = await readBody(res).catch((err: unknown) => {
        throw signal.aborted ? abortReason(signal) : err;
      });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw apiErrorFromBody(status, body, path);
      const parsed = JSON.parse(body) as { metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] };
      return {
        resourceVersion: parsed.metadata?.resourceVersion ?? '',
        items: parsed.items ?? [],
        continueToken: parsed.metadata?.continue || undefined,
      };
    },
    async watch(path, query, onEvent, signal) {
      const res = await open(path, { ...query, watch: true }, signal);
      const status = res.statusCode ?? 0;
      if (status !== 200) throw apiErrorFromBody(status, await readBody(res).catch(() => ''), path);
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const finish = (err?: unknown): void => {
          if (settled) return;
          settled = true;
          if (signal.aborted) reject(abortReason(signal));
          else if (err) reject(err);
          else resolve();
        };
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        lines.on('line', (line) => {
          if (settled || line.trim() === '') return;
          let ev: RawWatchEvent;
          try {
            ev = JSON.parse(line) as RawWatchEvent;
          } catch {
            return; // a torn line: the next reconnect resumes from the last good resourceVersion
          }
          onEvent(ev);
        });
        res.on('error', (err) => finish(err));
        lines.on('error', (err) => finish(err));
        res.on('aborted', () => finish(new Error('The watch connection was reset')));
        lines.on('close', () => finish());
        res.on('close', () => {
          // 'close' without 'end' means the socket went away mid-stream.
          finish(res.complete ? undefined : new Error('The watch connection closed before the stream ended'));
        });
      });
    },
  };
}
