/**
 * The response listener: one TCP server per host process to which kernel launchers send their
 * connection information (the `--response-address`). Every registration gets its own RSA key pair,
 * which is dropped as soon as the kernel's payload arrives (or the wait ends), so a key decrypts
 * at most one accepted payload and a captured payload cannot be replayed into a later launch.
 * Nothing is ever written back to a sender, and every bad payload is logged and dropped.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { resolveConfig } from '../config/resolve.js';
import { silentLogger, type Logger } from '../logging.js';
import { ResponseListenerError, ResponsePayloadError, ResponseWaitError } from './errors.js';
import { createResponseKeyPair, DEFAULT_RESPONSE_KEY_BITS, type ResponseKeyPair } from './keys.js';
import { ConnectionAdmission, type AdmissionTicket } from './admission.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  openResponse,
  parseResponseEnvelope,
  type DecodeOptions,
  type ResponseEnvelope,
} from './payload.js';
import type { KernelConnectionInfo } from './types.js';

import {
  DEFAULT_RESPONSE_IDLE_TIMEOUT_MS,
  DEFAULT_RESPONSE_KEY_POOL_SIZE,
  DEFAULT_RESPONSE_MAX_CONNECTIONS,
  DEFAULT_RESPONSE_MAX_PER_SOURCE,
  DEFAULT_RESPONSE_PORT,
  DEFAULT_RESPONSE_PORT_RETRIES,
  DEFAULT_RESPONSE_READ_TIMEOUT_MS,
  RESPONSE_LISTENER_OPTIONS,
} from './listener-options.js';

/** Version refusals remembered for launches that learn their pod's IP after the payload came. */
const MAX_VERSION_REFUSALS = 64;
/**
 * The variable through which a gp host announces the payload versions it reads (e.g. `2,1`) to the launcher
 * in the pod. The reference's hosts never set it and its launchers ignore it; gp's launchers that do not see
 * it send version 1, which the reference reads. See README "Negotiating the payload version".
 */
export const RESPONSE_VERSIONS_ENV = 'GP_RESPONSE_VERSIONS';
/** Acknowledgements kept to answer a launcher's retry of a payload already accepted (its ack was lost). */
const RECENT_ACKS = 256;
const RECENT_ACK_TTL_MS = 10 * 60_000;

export interface ResponseListenerOptions {
  /** Address to bind and advertise. Default: first non-loopback IPv4 not prohibited, else 127.0.0.1. */
  ip?: string;
  /** First port to try; 0 picks an ephemeral port. Default 8877. */
  port?: number;
  /** Further ports to try when the port is taken (5 sequential, then random within ±2n). Default 10. */
  portRetries?: number;
  /** Bind all IPv4 addresses but still advertise `ip`. Default false. */
  addrAny?: boolean;
  /** Regexes (matched at the start, as Python's re.match) of local addresses never chosen by default. */
  prohibitedLocalIps?: string[];
  /** Default 64 KiB. */
  maxPayloadBytes?: number;
  /** A sender must finish (send EOF) within this time. Default 10 s. */
  readTimeoutMs?: number;
  /** A connection that sends nothing for this long (its first byte included) is closed. Default 2 s. */
  idleTimeoutMs?: number;
  /** Connections open at once; at the cap a newcomer replaces the oldest idle one. Default 256. */
  maxConnections?: number;
  /** Connections open at once from one source address (same rule). Default 16. */
  maxConnectionsPerSource?: number;
  /** Accept legacy version 0 payloads (AES keyed with the kernel id: no secrecy). Default false. */
  allowLegacyV0?: boolean;
  /** 2 refuses version 1 payloads (only gp launchers). Default 1. */
  minVersion?: 1 | 2;
  /** RSA modulus size of the per-kernel keys. Default 2048. */
  keyBits?: number;
  /**
   * Key pairs generated ahead of time, in the background, so a launch does not wait for RSA key generation
   * (hundreds of milliseconds for 2048 bits). Each key still serves exactly one registration. 0 disables.
   * Default 2.
   */
  keyPoolSize?: number;
  logger?: Logger;
}

/**
 * Reads the listener's options from environment variables (`GP_RESPONSE_IP`, `GP_RESPONSE_PORT`,
 * `GP_RESPONSE_PORT_RETRIES`, `GP_RESPONSE_ADDR_ANY`, `GP_PROHIBITED_LOCAL_IPS`, and gp's
 * `GP_RESPONSE_ALLOW_LEGACY`, `GP_RESPONSE_MIN_VERSION`, `GP_RESPONSE_MAX_BYTES`,
 * `GP_RESPONSE_READ_TIMEOUT`, `GP_RESPONSE_IDLE_TIMEOUT`, `GP_RESPONSE_MAX_CONNECTIONS`,
 * `GP_RESPONSE_MAX_PER_SOURCE`, `GP_RESPONSE_KEY_POOL`), as `RESPONSE_LISTENER_OPTIONS` defines them (core's
 * rules: an empty variable counts as unset). Only variables that are set appear in the result, so the
 * listener's own defaults apply to the rest. `overrides` win over the environment. Throws `ConfigError`.
 */
export function responseListenerOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
  overrides: ResponseListenerOptions = {},
): ResponseListenerOptions {
  const { values: v, isSet } = resolveConfig(RESPONSE_LISTENER_OPTIONS, { env });
  const out: ResponseListenerOptions = {};
  if (v.response_ip !== undefined) out.ip = v.response_ip;
  if (isSet('response_port')) out.port = v.response_port;
  if (isSet('response_port_retries')) out.portRetries = v.response_port_retries;
  if (isSet('response_addr_any')) out.addrAny = v.response_addr_any;
  if (v.prohibited_local_ips.length > 0) out.prohibitedLocalIps = v.prohibited_local_ips;
  if (isSet('response_allow_legacy')) out.allowLegacyV0 = v.response_allow_legacy;
  if (isSet('response_min_version')) out.minVersion = v.response_min_version;
  if (isSet('response_max_bytes')) out.maxPayloadBytes = v.response_max_bytes;
  if (isSet('response_key_pool')) out.keyPoolSize = v.response_key_pool;
  // Seconds, like GP_SOCKET_TIMEOUT and friends.
  if (isSet('response_read_timeout')) out.readTimeoutMs = v.response_read_timeout * 1000;
  if (isSet('response_idle_timeout')) out.idleTimeoutMs = v.response_idle_timeout * 1000;
  if (isSet('response_max_connections')) out.maxConnections = v.response_max_connections;
  if (isSet('response_max_per_source')) out.maxConnectionsPerSource = v.response_max_per_source;
  return { ...out, ...overrides };
}

/** The first non-internal IPv4 address not matching a prohibited regex, else 127.0.0.1. */
export function defaultResponseIp(prohibited: string[] = []): string {
  const regexes = prohibited.map((r) => new RegExp(`^(?:${r})`));
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      if (!regexes.some((re) => re.test(a.address))) return a.address;
    }
  }
  return '127.0.0.1';
}

/** Ports to try: the port, then up to 4 sequential ones, then random ones within ±2n. */
export function* candidateResponsePorts(port: number, retries: number): Generator<number> {
  if (port === 0) {
    yield 0;
    return;
  }
  const n = retries + 1;
  for (let i = 0; i < Math.min(5, n); i++) if (port + i < 65536) yield port + i;
  for (let i = 5; i < n; i++) {
    const p = port + Math.floor(Math.random() * (4 * n + 1)) - 2 * n;
    yield Math.min(65535, Math.max(1, p));
  }
}

/** What a launch needs from its registration. */
export interface ResponseRegistration {
  readonly kernelId: string;
  /** For `--public-key`: base64 DER SPKI of this registration's fresh key. */
  readonly publicKey: string;
  /** For `--response-address`. */
  readonly responseAddress: string;
  /** For the pod's `GP_RESPONSE_VERSIONS` (`RESPONSE_VERSIONS_ENV`): the payload versions this host reads, preferred first. */
  readonly responseVersions: string;
  /** Resolves with the kernel's connection information; rejects with `ResponseWaitError`. */
  readonly connectionInfo: Promise<KernelConnectionInfo>;
  /** Stops waiting (rejects `connectionInfo` as aborted) and forgets the key. */
  cancel(): void;
  /**
   * Resolves when a payload from `from` (the kernel pod's IP) was refused for its version since this
   * registration began (a reference launcher's version 1 under `GP_RESPONSE_MIN_VERSION=2`), so a launch can
   * fail with that cause instead of a timeout. Never settles otherwise.
   */
  whenVersionRefused(from: string): Promise<VersionRefusal>;
}

/** A payload refused because of its version: what it was and what this listener reads. */
export interface VersionRefusal {
  from: string;
  version: number | undefined;
  /** What the listener reads, as announced (`2`). */
  accepted: string;
  at: number;
}

export interface RegisterOptions {
  /** Aborting ends the wait (e.g. the launch timed out or was cancelled). */
  signal?: AbortSignal;
}

interface Pending {
  kernelId: string;
  keyPair: ResponseKeyPair;
  resolve: (info: KernelConnectionInfo) => void;
  reject: (err: Error) => void;
}

function normalizeAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

export class ResponseListener {
  private readonly pending = new Map<string, Pending>();
  private readonly sockets = new Set<Socket>();
  private readonly logger: Logger;
  private readonly decodeOptions: DecodeOptions;
  private readonly readTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly admission: ConnectionAdmission;
  /** sha256(payload) -> its acknowledgement, for payloads accepted lately (a retry whose ack was lost). */
  private readonly recentAcks = new Map<string, { ack: string; kernelId: string; at: number }>();
  /** The latest version refusals (bounded), and who waits for one from an address. */
  private readonly versionRefusals: VersionRefusal[] = [];
  private readonly refusalWaiters = new Set<{ from: string; since: number; resolve: (r: VersionRefusal) => void }>();
  /** Fresh key pairs being generated or ready, each handed to one registration only. */
  private readonly spareKeyPairs: Array<Promise<ResponseKeyPair>> = [];
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly ip: string,
    readonly port: number,
    private readonly options: ResponseListenerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.decodeOptions = {
      allowLegacyV0: options.allowLegacyV0 ?? false,
      minVersion: options.minVersion ?? 1,
      maxBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    };
    this.readTimeoutMs = options.readTimeoutMs ?? DEFAULT_RESPONSE_READ_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_RESPONSE_IDLE_TIMEOUT_MS;
    this.admission = new ConnectionAdmission({
      maxConnections: options.maxConnections ?? DEFAULT_RESPONSE_MAX_CONNECTIONS,
      maxPerSource: options.maxConnectionsPerSource ?? DEFAULT_RESPONSE_MAX_PER_SOURCE,
    });
    server.on('connection', (socket) => this.onConnection(socket));
    server.on('error', (err) => this.logger.error('Response listener error', { error: err }));
    this.refillKeyPairs();
  }

  private generateKeyPair(): Promise<ResponseKeyPair> {
    const keyPair = createResponseKeyPair(this.options.keyBits ?? DEFAULT_RESPONSE_KEY_BITS);
    keyPair.catch(() => {}); // a spare may never be taken; its failure surfaces when it is
    return keyPair;
  }

  private refillKeyPairs(): void {
    const size = this.options.keyPoolSize ?? DEFAULT_RESPONSE_KEY_POOL_SIZE;
    while (!this.closed && this.spareKeyPairs.length < size) this.spareKeyPairs.push(this.generateKeyPair());
  }

  /** A never-used key pair: a spare if one is there (then another is started), else a new one. */
  private nextKeyPair(): Promise<ResponseKeyPair> {
    const keyPair = this.spareKeyPairs.shift() ?? this.generateKeyPair();
    this.refillKeyPairs();
    return keyPair;
  }

  /** Binds the listener (trying further ports when one is in use). Throws `ResponseListenerError`. */
  static async start(options: ResponseListenerOptions = {}): Promise<ResponseListener> {
    const logger = options.logger ?? silentLogger;
    const ip = options.ip ?? defaultResponseIp(options.prohibitedLocalIps);
    const bindIp = options.addrAny ? '0.0.0.0' : ip;
    const port = options.port ?? DEFAULT_RESPONSE_PORT;
    const retries = options.portRetries ?? DEFAULT_RESPONSE_PORT_RETRIES;
    let attempts = 0;
    for (const candidate of candidateResponsePorts(port, retries)) {
      attempts++;
      // No server.maxConnections: admission (caps in total and per source, idle ones evicted first) is ours.
      const server = createServer({ allowHalfOpen: true });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: bindIp, port: candidate, backlog: 128, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') {
          logger.info(`Response port ${candidate} is not available (${code}), trying another port...`);
          continue;
        }
        throw new ResponseListenerError(`Failed to bind the response listener to ${bindIp}:${candidate}: ${String(err)}`, {
          cause: err,
          details: { ip: bindIp, port: candidate },
        });
      }
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : candidate;
      logger.info(`Response listener bound to ${bindIp}:${bound}; advertising ${ip}:${bound}`);
      return new ResponseListener(server, ip, bound, options);
    }
    throw new ResponseListenerError(
      `No available response port could be found after ${attempts} attempts starting at ${port} ` +
        `(set GP_RESPONSE_PORT / GP_RESPONSE_PORT_RETRIES).`,
      { details: { port, retries } },
    );
  }

  /** `ip:port`, the value of `--response-address`. */
  get responseAddress(): string {
    return `${this.ip}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The payload versions this listener accepts from launchers, preferred first (`2,1`; `2` with `minVersion` 2). */
  get responseVersions(): string {
    return this.decodeOptions.minVersion === 2 ? '2' : '2,1';
  }

  /** Spare key pairs generated or being generated ahead of registrations. */
  get spareKeyPairCount(): number {
    return this.spareKeyPairs.length;
  }

  /** Kernel ids currently waiting for their connection information. */
  get waiting(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * Starts waiting for a kernel's connection information under a fresh key pair. Registering the
   * same kernel id again (a restart) ends the earlier wait.
   */
  async register(kernelId: string, options: RegisterOptions = {}): Promise<ResponseRegistration> {
    if (this.closed) throw new ResponseWaitError(kernelId, 'closed');
    const { signal } = options;
    if (signal?.aborted) throw new ResponseWaitError(kernelId, 'aborted');
    const keyPair = await this.nextKeyPair();
    if (this.closed) throw new ResponseWaitError(kernelId, 'closed');
    if (signal?.aborted) throw new ResponseWaitError(kernelId, 'aborted');

    this.pending.get(kernelId)?.reject(new ResponseWaitError(kernelId, 'superseded'));
    // A new launch of this kernel: an earlier payload is a replay now, not a retry, and gets no answer.
    for (const [digest, recent] of this.recentAcks) if (recent.kernelId === kernelId) this.recentAcks.delete(digest);

    let entry!: Pending;
    const onAbort = (): void => entry.reject(new ResponseWaitError(kernelId, 'aborted'));
    const connectionInfo = new Promise<KernelConnectionInfo>((resolve, reject) => {
      const settle = (): void => {
        signal?.removeEventListener('abort', onAbort);
        if (this.pending.get(kernelId) === entry) this.pending.delete(kernelId);
      };
      entry = {
        kernelId,
        keyPair,
        resolve: (info) => {
          settle();
          resolve(info);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
    });
    connectionInfo.catch(() => {}); // the caller may never await it; never an unhandled rejection
    this.pending.set(kernelId, entry);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.logger.debug('Waiting for kernel connection information', { kernelId });
    const since = Date.now();
    const whenVersionRefused = (from: string): Promise<VersionRefusal> => {
      const earlier = this.versionRefusals.find((r) => r.from === from && r.at >= since);
      if (earlier) return Promise.resolve(earlier);
      return new Promise<VersionRefusal>((resolve) => {
        const waiter = { from, since, resolve };
        this.refusalWaiters.add(waiter);
        // Forgotten with the registration: nothing to wait for once the wait is over.
        void connectionInfo.then(
          () => this.refusalWaiters.delete(waiter),
          () => this.refusalWaiters.delete(waiter),
        );
      });
    };
    return {
      kernelId,
      publicKey: keyPair.publicKey,
      responseAddress: this.responseAddress,
      responseVersions: this.responseVersions,
      connectionInfo,
      cancel: onAbort,
      whenVersionRefused,
    };
  }

  /** Stops listening; pending waits end with `ResponseWaitError('closed')`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spareKeyPairs.length = 0;
    for (const entry of [...this.pending.values()]) entry.reject(new ResponseWaitError(entry.kernelId, 'closed'));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Open connections (tests and metrics). */
  get connectionCount(): number {
    return this.admission.size;
  }

  private onConnection(socket: Socket): void {
    const from = normalizeAddress(socket.remoteAddress) ?? 'unknown';
    socket.on('error', (err) => this.logger.debug('Response connection error', { from, error: err }));
    const max = this.decodeOptions.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // A reset, not a FIN: a launcher that lost its place must not take the close for "received".
    const drop = (): void => {
      done = true;
      chunks.length = 0;
      clearTimeout(deadline);
      if (!socket.destroyed) socket.resetAndDestroy();
    };
    const outcome = this.admission.admit(from, () => {
      this.logger.debug('Response connection evicted: idle while the listener was full', { from });
      drop();
    });
    if (!outcome.admitted) {
      this.logger.warn('Refused a response connection: every slot is taken by senders that are sending', { from, why: outcome.why });
      socket.resetAndDestroy();
      return;
    }
    if (outcome.evicted > 0) this.logger.warn('Response listener full: evicted idle connections', { from, evicted: outcome.evicted });
    const ticket: AdmissionTicket = outcome.ticket;
    this.sockets.add(socket);
    // An absolute deadline, not only an idle timeout: a sender trickling bytes cannot hold a connection.
    const deadline = setTimeout(() => {
      if (done) return;
      this.logger.warn('Dropped kernel response: the sender did not finish in time', { from, timeoutMs: this.readTimeoutMs });
      drop();
    }, this.readTimeoutMs);
    deadline.unref();
    // And a short idle timeout, the first byte included: a launcher writes as soon as it is connected.
    socket.setTimeout(this.idleTimeoutMs, () => {
      if (done) return;
      this.logger.debug('Closed an idle response connection', { from, idleTimeoutMs: this.idleTimeoutMs, received: size });
      drop();
    });
    socket.on('close', () => {
      done = true;
      clearTimeout(deadline);
      ticket.release();
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      ticket.active();
      size += chunk.length;
      if (size > max) {
        this.logger.warn('Dropped kernel response payload', { from, reason: 'oversized', size, maxBytes: max });
        drop();
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => {
      if (done) return;
      const raw = Buffer.concat(chunks);
      done = true;
      chunks.length = 0;
      clearTimeout(deadline);
      let ack: string | undefined;
      try {
        ack = this.deliver(raw, from);
      } catch (err) {
        // Never let a payload take the host down.
        this.logger.error('Unexpected failure handling a kernel response', { from, error: err });
      }
      // Accepted: acknowledge (gp launchers wait for it; reference launchers have closed, which is fine).
      // Anything else: close without a word, so a rejection looks like a host that does not acknowledge.
      if (ack !== undefined && socket.writable) socket.end(ack);
      else socket.end();
      socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    });
  }

  private rememberAck(digest: string, ack: string, kernelId: string): void {
    const now = Date.now();
    for (const [k, v] of this.recentAcks) {
      if (this.recentAcks.size < RECENT_ACKS && now - v.at < RECENT_ACK_TTL_MS) break;
      this.recentAcks.delete(k);
    }
    this.recentAcks.set(digest, { ack, kernelId, at: now });
  }

  private recordVersionRefusal(from: string, version: unknown): void {
    const refusal: VersionRefusal = { from, version: typeof version === 'number' ? version : undefined, accepted: this.responseVersions, at: Date.now() };
    this.versionRefusals.push(refusal);
    if (this.versionRefusals.length > MAX_VERSION_REFUSALS) this.versionRefusals.shift();
    for (const waiter of [...this.refusalWaiters]) {
      if (waiter.from === from && refusal.at >= waiter.since) {
        this.refusalWaiters.delete(waiter);
        waiter.resolve(refusal);
      }
    }
  }

  /** Hands an accepted payload to its registration; returns the acknowledgement to write back. */
  private deliver(raw: Buffer, from: string): string | undefined {
    if (raw.length === 0) {
      this.logger.debug('Empty connection on the response port', { from });
      return undefined;
    }
    const digest = createHash('sha256').update(raw).digest('hex');
    const recent = this.recentAcks.get(digest);
    if (recent && Date.now() - recent.at < RECENT_ACK_TTL_MS) {
      // The launcher's retry of a payload accepted earlier: the same bytes, so the same answer.
      this.logger.info('Acknowledged a repeated kernel response payload again', { from });
      return recent.ack;
    }
    let envelope: ResponseEnvelope;
    try {
      envelope = parseResponseEnvelope(raw, this.decodeOptions);
    } catch (err) {
      const reason = err instanceof ResponsePayloadError ? err.reason : 'malformed';
      this.logger.warn('Dropped kernel response payload', { from, reason, size: raw.length, ...(err instanceof ResponsePayloadError ? err.details : {}) });
      if (reason === 'version') this.recordVersionRefusal(from, (err as ResponsePayloadError).details?.version);
      return undefined;
    }
    const candidates =
      envelope.version === 2
        ? [this.pending.get(envelope.kernelId)].filter((p): p is Pending => p !== undefined)
        : [...this.pending.values()];
    for (const entry of candidates) {
      let opened: ReturnType<typeof openResponse>;
      try {
        opened = openResponse(envelope, entry.keyPair, entry.kernelId);
      } catch {
        continue;
      }
      const info = opened.info;
      info.response_from = from;
      if (envelope.version === 0) {
        this.logger.warn(
          `Legacy (version 0) kernel response accepted for kernel '${entry.kernelId}': it is not confidential; update the kernel image's launchers.`,
          { kernelId: entry.kernelId, from },
        );
      } else {
        this.logger.info('Received kernel connection information', {
          kernelId: entry.kernelId,
          version: envelope.version,
          from,
        });
      }
      if (opened.ack !== undefined) this.rememberAck(digest, opened.ack, entry.kernelId);
      entry.resolve(info);
      return opened.ack;
    }
    this.logger.warn('Dropped kernel response payload', {
      from,
      reason: 'rejected',
      version: envelope.version,
      ...(envelope.version === 2 ? { claimedKernelId: envelope.kernelId } : {}),
      waiting: this.pending.size,
    });
    return undefined;
  }
}

let shared: Promise<ResponseListener> | undefined;

/**
 * The process-wide listener, started on first use with options from the environment plus
 * `overrides`. Later calls return the same listener whatever they pass, until it is closed; the
 * next call after that starts a new one.
 */
export async function sharedResponseListener(overrides: ResponseListenerOptions = {}): Promise<ResponseListener> {
  const current = shared;
  if (current) {
    const listener = await current.catch(() => undefined);
    if (listener && !listener.isClosed) return listener;
    if (shared !== current) return sharedResponseListener(overrides); // another caller restarted it
  }
  const starting = ResponseListener.start(responseListenerOptionsFromEnv(process.env, overrides));
  shared = starting;
  starting.catch(() => {
    if (shared === starting) shared = undefined;
  });
  return starting;
}
