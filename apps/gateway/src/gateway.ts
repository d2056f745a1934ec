/**
 * `startGateway`: composes the pieces (settings, kernelspec catalog, store, kernel manager, HTTP/WebSocket
 * front, culler) into a running server, re-attaching to recorded kernels and sweeping orphans first (then
 * periodically); follows whether the Kubernetes API answers (readiness, one log line per transition).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { GpError, ResponseListener, createLogger, responseListenerOptionsFromEnv, type Logger } from '@gp/core';
import { WatchHub, loadKubeConfig, observeKubeRequests } from '@gp/launcher';
import { KubernetesApiHealth, readyzProbe } from './api-health.js';
import { defaultKernelspecDirs, KernelSpecCatalog } from './kernelspecs.js';
import { KernelManager, type ReattachResult } from './kernels.js';
import { createPools, startPools, type GatewayPools } from './pool-wiring.js';
import { createMetricsServer } from './metrics/endpoint.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { settingsFromOptions, type GatewayOptions, type GatewaySettings } from './options.js';
import { createHandlers } from './server.js';
import { KubernetesKernelStore } from './kube-store.js';
import { ReplicaLeases } from './replica/leases.js';
import { FileKernelStore, MemoryKernelStore, type KernelStore } from './store.js';
import { loadTls } from './tls.js';
import { resolveToken } from './token.js';
import { raiseZmqSocketLimit } from './zmq-context.js';

const REAP_INTERVAL_MS = 5000;

export interface CloseOptions {
  /** Stop the kernels (default: the `shutdown_policy` setting; `leave` keeps them for the next gateway). */
  stopKernels?: boolean;
}

export interface RunningGateway {
  /** `http(s)://<ip>:<port><base_url>` without a trailing slash (https with --certfile/--keyfile). */
  url: string;
  /** The token clients send (`Authorization: token <token>`). */
  token: string;
  close(opts?: CloseOptions): Promise<void>;
}

/** `RunningGateway` plus what tests and the CLI look at. */
export interface GatewayHandle extends RunningGateway {
  settings: GatewaySettings;
  kernels: KernelManager;
  /** Orphaned kernel pods the start-up sweep found. */
  orphans: Array<{ namespace: string; pod: string; kernelId: string }>;
  /** What re-attachment did at start-up (`pending`: kept, retried until the API answers). */
  reattached: ReattachResult;
  /** Whether the Kubernetes API answers (`status()` is what a later /metrics exports). */
  kubernetesApi: KubernetesApiHealth;
  /** Kernel WebSockets open or being set up (what the connection caps count). */
  webSockets(): number;
  metrics: GatewayMetrics;
  /** `http://<ip>:<metrics port>/metrics` when --metrics-port is set. */
  metricsUrl?: string;
  /** With `--kernel-store kubernetes`: this replica's id and whether it leads. */
  replica?: { readonly id: string; readonly isLeader: boolean };
}

/** The gateway cannot listen where it was told to (port in use, address not on this host, no permission). */
export class ListenError extends GpError {
  constructor(ip: string, port: number, cause: NodeJS.ErrnoException, flag = 'port') {
    const why: Record<string, string> = {
      EADDRINUSE: `the address is already in use: choose another --${flag}${flag === 'port' ? ' (or 0 for a free one)' : ''}, or stop what listens on ${port}`,
      EADDRNOTAVAIL: `the address is not one of this host's: choose an --ip this host has (127.0.0.1, 0.0.0.0, ...)`,
      EACCES: `permission denied: ports below 1024 need privileges; choose another --${flag}`,
    };
    const code = cause.code ?? 'UNKNOWN';
    super('GP_LISTEN_FAILED', `Cannot listen on --ip=${ip} --${flag}=${port}: ${why[code] ?? cause.message} (${code}).`, {
      cause,
      details: { ip, port, errno: code },
    });
  }
}

function listen(server: Server, port: number, ip: string, flag = 'port'): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException): void => reject(new ListenError(ip, port, e, flag));
    server.once('error', failed);
    server.listen(port, ip, () => {
      server.off('error', failed);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** How long closing waits for requests in flight (e.g. a cancelled launch's 503) to be answered. */
const DRAIN_MS = 5000;

/**
 * Stops accepting connections, lets the requests in flight be answered (a cancelled launch's client gets its
 * 503 rather than a reset connection), closing connections as they go idle, and after `DRAIN_MS` cuts what is
 * left.
 */
async function drainAndClose(server: Server): Promise<void> {
  let closed = false;
  const done = new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
    closed = true;
  });
  const deadline = Date.now() + DRAIN_MS;
  while (!closed && Date.now() < deadline) {
    server.closeIdleConnections();
    await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
  }
  server.closeAllConnections();
  await done;
}

export async function startGateway(options: GatewayOptions = {}): Promise<GatewayHandle> {
  const settings = settingsFromOptions(options);
  const hostEnv = options.hostEnv ?? process.env;
  const logger: Logger = options.logger ?? createLogger({ name: 'GatewayApp', level: settings.log_level, format: settings.log_format });
  const kubeConfig = options.kubeConfig ?? loadKubeConfig(hostEnv);
  const { token, origin: tokenOrigin } = resolveToken(settings);
  // Checked before anything starts: a bad certificate, key or CA file is one typed error.
  const tls = loadTls(settings);
  const generatedToken = tokenOrigin === 'generated';
  // One set of ZeroMQ sockets per kernel with clients, plus its monitor: the context's default 1023 would
  // cap the gateway at ~200 kernels; the process's file descriptors are the real limit.
  raiseZmqSocketLimit(logger);

  const ownListener = !(options.responseListener instanceof ResponseListener);
  const responseListener =
    options.responseListener instanceof ResponseListener
      ? options.responseListener
      : await ResponseListener.start(responseListenerOptionsFromEnv(hostEnv, { logger, ...(options.responseListener ?? {}) }));

  const specs = new KernelSpecCatalog(settings.kernelspec_dirs.length ? settings.kernelspec_dirs : defaultKernelspecDirs(hostEnv), settings.default_kernel_name);
  const gatewayNamespace = hostEnv.GP_NAMESPACE || 'default';
  const hub = WatchHub.forKubeConfig(kubeConfig);
  let store: KernelStore;
  let kubeStore: KubernetesKernelStore | undefined;
  let replicas: ReplicaLeases | undefined;
  try {
    if (settings.kernel_store === 'kubernetes') {
      kubeStore = new KubernetesKernelStore({ kubeConfig, hub, namespace: gatewayNamespace, logger });
      replicas = new ReplicaLeases({ kubeConfig, namespace: gatewayNamespace, logger, ...(hostEnv.GP_GATEWAY_REPLICA_ID ? { id: hostEnv.GP_GATEWAY_REPLICA_ID } : {}) });
      store = kubeStore;
    } else {
      store = settings.state_file ? new FileKernelStore(settings.state_file) : new MemoryKernelStore();
    }
  } catch (e) {
    if (ownListener) await responseListener.close();
    throw e;
  }
  const kubernetesApi = new KubernetesApiHealth(kubeConfig.getCurrentCluster()?.server ?? '', readyzProbe(kubeConfig), logger);
  // Read at scrape time; `kernels` and `handlers` exist by the time anyone can scrape.
  const metrics: GatewayMetrics = new GatewayMetrics({
    kernels: () => kernels.running(),
    pendingKernels: () => kernels.pendingCount,
    webSockets: () => handlers.slots.count,
    watchReconnects: () => hub.totals().reconnects,
    api: () => kubernetesApi.status(),
  });
  const stopObserving = observeKubeRequests(kubeConfig, { request: (e) => metrics.kubeRequest(e.verb, e.resource, e.status) });
  let pools: GatewayPools | undefined;
  try {
    pools = settings.kernel_pools.length ? createPools(settings, { specs, kubeConfig, hostEnv, logger, hasRoom: () => settings.max_kernels <= 0 || kernels.countedKernels + (pools?.podCount() ?? 0) < settings.max_kernels }) : undefined;
  } catch (e) {
    stopObserving();
    if (ownListener) await responseListener.close();
    throw e;
  }
  pools?.registerMetrics(metrics.registry);
  const kernels: KernelManager = new KernelManager({ specs, store, kubeConfig, hub, responseListener, hostEnv, logger, apiHealth: kubernetesApi, metrics,
    limits: { maxKernels: settings.max_kernels, maxKernelsPerUser: settings.max_kernels_per_user },
    ...(replicas ? { replica: replicas } : {}),
    transportEncryption: settings.transport_encryption,
    ...(pools ? { pools } : {}),
  });

  // Ready = can serve launches: started up and the Kubernetes API answers.
  let ready = false;
  const handlers = createHandlers({
    token,
    baseUrl: settings.base_url,
    allowedEnv: settings.allowed_env,
    kernels,
    specs,
    logger,
    isReady: () => ready && kubernetesApi.reachable && (kubeStore?.synced ?? true),
    allowOrigin: settings.allow_origin,
    maxMessageSize: settings.ws_max_message_size,
    maxConnectionsPerKernel: settings.ws_max_connections_per_kernel,
    maxConnections: settings.ws_max_connections,
    metrics: () => metrics.expose(),
    clientCertRequired: tls?.requestCert ?? false,
    namespace: hostEnv.GP_NAMESPACE || 'default',
  });
  const server: Server = tls ? createHttpsServer(tls, handlers.request) : createServer(handlers.request);
  server.on('upgrade', handlers.upgrade);
  // A failed TLS handshake (plain HTTP on the TLS port, an untrusted client...) ends only that connection.
  if (tls) server.on('tlsClientError', (e: NodeJS.ErrnoException) => logger.debug('A TLS handshake failed.', { code: e.code, reason: e.message.split('\n')[0] }));
  // Kernel launches can take minutes: no request timeout (Jupyter Server's client sets its own).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  let address: AddressInfo;
  const metricsServer = settings.metrics_port > 0 ? createMetricsServer(() => metrics.expose(), logger) : undefined;
  let metricsAddress: AddressInfo | undefined;
  try {
    address = await listen(server, settings.port, settings.ip);
    if (metricsServer) metricsAddress = await listen(metricsServer, settings.metrics_port, settings.ip, 'metrics-port');
  } catch (e) {
    stopObserving();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (ownListener) await responseListener.close();
    throw e;
  }
  metricsServer?.on('error', (e: NodeJS.ErrnoException) => logger.error('Accepting a metrics connection failed.', { code: e.code, error: e }));
  // After listening, the server's 'error' is an accept() failure (EMFILE when out of file descriptors):
  // libuv sheds the pending connection; the gateway logs it and keeps serving the rest.
  server.on('error', (e: NodeJS.ErrnoException) => logger.error('Accepting a connection failed.', { code: e.code, error: e }));
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const baseUrl = settings.base_url.replace(/\/+$/, '');
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}${baseUrl}`;

  // With the API down, records are kept and re-attached once it answers (never taken for dead kernels).
  const apiUp = await kubernetesApi.check();
  kubernetesApi.onChange((reachable) => {
    if (reachable) void kernels.retryPending();
  });
  let stopAdopting = (): void => undefined;
  if (kubeStore && replicas) {
    // The records must be readable (a 403 here is a missing state Role: fail now, with its fix in the message).
    try {
      if (apiUp) {
        await kubeStore.start(AbortSignal.timeout(60_000));
        await replicas.start();
      } else {
        void kubeStore.start().then(() => replicas?.start()).catch((e: unknown) => logger.error('The kernel records cannot be read.', { error: e }));
      }
    } catch (e) {
      stopObserving();
      kubeStore.close();
      await drainAndClose(server);
      if (metricsServer) await drainAndClose(metricsServer);
      if (ownListener) await responseListener.close();
      throw e;
    }
    // A kernel another replica starts is attached here as soon as its record arrives (no request per kernel).
    let adopting: NodeJS.Timeout | undefined;
    stopAdopting = kubeStore.onChange((kernelId, record) => {
      void kernels.recordChanged(kernelId, record);
      adopting ??= setTimeout(() => {
        adopting = undefined;
        void kernels.adoptAll().catch(() => undefined);
      }, 100);
    });
  }
  kubernetesApi.start(settings.kube_api_check_interval * 1000);
  const reattached = await kernels.reattach({ attempt: apiUp });
  const orphanNamespaces = settings.orphan_namespaces.length ? settings.orphan_namespaces : [hostEnv.GP_NAMESPACE || 'default'];
  // With replicas, only the leader sweeps and culls: each happens once.
  const leads = (): boolean => replicas?.isLeader ?? true;
  const sweep = async (): Promise<Array<{ namespace: string; pod: string; kernelId: string }>> => {
    if (!leads()) return [];
    await replicas?.collectExpired().catch((e: unknown) => logger.debug('Collecting expired replica leases failed.', { error: e }));
    return kernels.sweepOrphans(orphanNamespaces, settings.orphan_policy === 'delete').catch((e: unknown) => {
      logger.warn('The orphan sweep failed.', { error: e, namespaces: orphanNamespaces });
      return [];
    });
  };
  const orphans = apiUp ? await sweep() : [];
  let sweeper: NodeJS.Timeout | undefined;
  if (settings.orphan_sweep_interval > 0) {
    sweeper = setInterval(() => void (kubernetesApi.reachable ? sweep() : undefined), settings.orphan_sweep_interval * 1000);
    sweeper.unref();
  }
  const poolStarter = pools ? startPools(pools, logger) : undefined;
  ready = true;

  // Kernels whose pods end or vanish are noticed from the watch cache (no API call): their clients get a
  // `dead` status and their records go, without waiting for someone to ask for the kernel.
  const reaper = setInterval(() => void kernels.list().catch(() => undefined), REAP_INTERVAL_MS);
  reaper.unref();

  let pinger: NodeJS.Timeout | undefined;
  if (settings.ws_ping_interval > 0) {
    pinger = setInterval(() => handlers.pingClients(), settings.ws_ping_interval * 1000);
    pinger.unref();
  }

  let culler: NodeJS.Timeout | undefined;
  if (settings.cull_idle_timeout > 0) {
    const policy = { idleTimeoutSeconds: settings.cull_idle_timeout, cullConnected: settings.cull_connected, cullBusy: settings.cull_busy };
    culler = setInterval(() => void (leads() ? kernels.cull(policy) : undefined), settings.cull_interval * 1000);
    culler.unref();
  }

  logger.info('gp-gateway is running.', {
    url,
    ...(metricsAddress ? { metrics_port: metricsAddress.port } : {}),
    kernelspecs: specs.list().map((e) => e.name),
    reattached: reattached.attached.length,
    removed: reattached.removed.length,
    pending: reattached.pending.length,
    kubernetes_api: apiUp ? 'reachable' : 'unreachable',
    orphans: orphans.length,
    kernel_store: store.kind,
    ...(kubeStore ? { namespace: gatewayNamespace, replica: replicas?.id, leader: replicas?.isLeader } : { state_file: settings.state_file || '(none)' }),
  });
  if (generatedToken) {
    // Printed once, outside the logs: the logs never carry tokens.
    process.stderr.write(`gp-gateway: generated token (use --GatewayClient.auth_token=...): ${token}\n`);
  }

  let closing: Promise<void> | undefined;
  const close = (opts: CloseOptions = {}): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      clearInterval(reaper);
      if (sweeper) clearInterval(sweeper);
      kubernetesApi.stop();
      if (culler) clearInterval(culler);
      if (pinger) clearInterval(pinger);
      const stop = opts.stopKernels ?? settings.shutdown_policy === 'stop';
      stopAdopting();
      poolStarter?.cancel();
      await pools?.stop().catch((e: unknown) => logger.warn('Removing the warm pool pods failed.', { error: e }));
      await kernels.closeAll(stop);
      await replicas?.stop();
      kubeStore?.close();
      for (const client of handlers.wss.clients) client.terminate();
      handlers.wss.close();
      await drainAndClose(server);
      if (metricsServer) await drainAndClose(metricsServer);
      stopObserving();
      if (ownListener) await responseListener.close();
      logger.info('gp-gateway stopped.', { kernels: stop ? 'stopped' : 'left running' });
    })();
    return closing;
  };

  const metricsUrl = metricsAddress ? `http://${host}:${metricsAddress.port}/metrics` : undefined;
  return {
    url,
    token,
    close,
    settings,
    kernels,
    orphans: orphans as GatewayHandle['orphans'],
    reattached,
    kubernetesApi,
    webSockets: () => handlers.slots.count,
    metrics,
    ...(metricsUrl ? { metricsUrl } : {}),
    ...(replicas ? { replica: replicas } : {}),
  };
}
