import { describe, expect, it } from 'vitest';
import { allowedMethods, matchRoute } from './router.js';

describe('matchRoute', () => {
  it('maps the Jupyter Server kernel and kernelspec URLs', () => {
    expect(matchRoute('/api')).toEqual({ kind: 'api' });
    expect(matchRoute('/api/kernelspecs')).toEqual({ kind: 'kernelspecs' });
    expect(matchRoute('/api/kernelspecs/k8s_python')).toEqual({ kind: 'kernelspec', name: 'k8s_python' });
    expect(matchRoute('/kernelspecs/k8s_python/logo-64x64.png')).toEqual({ kind: 'kernelspec-resource', name: 'k8s_python', file: 'logo-64x64.png' });
    expect(matchRoute('/api/kernels/')).toEqual({ kind: 'kernels' });
    expect(matchRoute('/api/kernels/abc')).toEqual({ kind: 'kernel', id: 'abc' });
    expect(matchRoute('/api/kernels/abc/interrupt')).toEqual({ kind: 'kernel-action', id: 'abc', action: 'interrupt' });
    expect(matchRoute('/api/kernels/abc/restart')).toEqual({ kind: 'kernel-action', id: 'abc', action: 'restart' });
    expect(matchRoute('/api/kernels/abc/channels')).toEqual({ kind: 'kernel-channels', id: 'abc' });
    expect(matchRoute('/healthz')).toEqual({ kind: 'healthz' });
    expect(matchRoute('/readyz')).toEqual({ kind: 'readyz' });
  });

  it('honours the base URL', () => {
    expect(matchRoute('/gw/api/kernels', '/gw/')).toEqual({ kind: 'kernels' });
    expect(matchRoute('/api/kernels', '/gw/')).toBeUndefined();
    expect(matchRoute('/gwx/api', '/gw')).toBeUndefined();
  });

  it('rejects unknown paths and path tricks', () => {
    expect(matchRoute('/api/kernels/abc/other')).toBeUndefined();
    expect(matchRoute('/kernelspecs/k8s_python/..%2Fkernel.json')).toBeUndefined();
    expect(matchRoute('/kernelspecs/%E0%A4%A/x')).toBeUndefined();
    expect(matchRoute('/api/sessions')).toBeUndefined();
  });

  it('lists the methods of each route', () => {
    expect(allowedMethods({ kind: 'kernels' })).toEqual(['GET', 'POST']);
    expect(allowedMethods({ kind: 'kernel', id: 'x' })).toEqual(['GET', 'DELETE']);
    expect(allowedMethods({ kind: 'kernel-action', id: 'x', action: 'restart' })).toEqual(['POST']);
  });
});
