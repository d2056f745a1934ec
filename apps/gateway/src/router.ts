/** Maps a request path (below the base URL) onto the gateway's endpoints. */

export type Route =
  | { kind: 'api' }
  | { kind: 'healthz' }
  | { kind: 'readyz' }
  | { kind: 'metrics' }
  | { kind: 'kernelspecs' }
  | { kind: 'kernelspec'; name: string }
  | { kind: 'kernelspec-resource'; name: string; file: string }
  | { kind: 'kernels' }
  | { kind: 'kernel'; id: string }
  | { kind: 'kernel-action'; id: string; action: 'interrupt' | 'restart' }
  | { kind: 'kernel-channels'; id: string };

/** Joins a base URL and a path with single slashes: `/gw/` + `api` → `/gw/api`. */
export function normalizeBaseUrl(baseUrl: string): string {
  const trimmed = `/${baseUrl}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return trimmed;
}

function decode(segment: string): string | undefined {
  try {
    const value = decodeURIComponent(segment);
    return value === '' || value === '.' || value === '..' || value.includes('/') ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The route for `pathname` under `baseUrl` (normalized), or undefined (404). */
export function matchRoute(pathname: string, baseUrl = ''): Route | undefined {
  const base = normalizeBaseUrl(baseUrl);
  if (base && pathname !== base && !pathname.startsWith(`${base}/`)) return undefined;
  const rest = pathname.slice(base.length).replace(/\/+$/, '');
  const raw = rest.split('/').filter((s) => s !== '');
  const parts = raw.map(decode);
  if (parts.some((p) => p === undefined)) return undefined;
  const p = parts as string[];
  if (p.length === 1 && p[0] === 'healthz') return { kind: 'healthz' };
  if (p.length === 1 && p[0] === 'readyz') return { kind: 'readyz' };
  if (p.length === 1 && p[0] === 'metrics') return { kind: 'metrics' };
  if (p[0] === 'kernelspecs' && p.length === 3) return { kind: 'kernelspec-resource', name: p[1]!, file: p[2]! };
  if (p[0] !== 'api') return undefined;
  if (p.length === 1) return { kind: 'api' };
  if (p[1] === 'kernelspecs') {
    if (p.length === 2) return { kind: 'kernelspecs' };
    if (p.length === 3) return { kind: 'kernelspec', name: p[2]! };
    return undefined;
  }
  if (p[1] === 'kernels') {
    if (p.length === 2) return { kind: 'kernels' };
    if (p.length === 3) return { kind: 'kernel', id: p[2]! };
    if (p.length === 4 && (p[3] === 'interrupt' || p[3] === 'restart')) return { kind: 'kernel-action', id: p[2]!, action: p[3] };
    if (p.length === 4 && p[3] === 'channels') return { kind: 'kernel-channels', id: p[2]! };
  }
  return undefined;
}

/** Which methods each route answers (for 405 with an Allow header). */
export function allowedMethods(route: Route): string[] {
  switch (route.kind) {
    case 'kernels':
      return ['GET', 'POST'];
    case 'kernel':
      return ['GET', 'DELETE'];
    case 'kernel-action':
      return ['POST'];
    default:
      return ['GET'];
  }
}
