import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { observeKubeRequests, reportKubeRequest, resourceOfPath, verbOf } from './kube-observer.js';

function kubeConfig(user: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
    users: [{ name: user, token: `t-${user}` }],
    contexts: [{ name: 'x', cluster: 'c', user }],
    currentContext: 'x',
  });
  return kc;
}

describe('kube request observers', () => {
  it('names the resource and verb of a path without object names', () => {
    expect(resourceOfPath('/api/v1/namespaces/ns/pods/p-1')).toBe('pods');
    expect(resourceOfPath('/api/v1/namespaces/ns/pods')).toBe('pods');
    expect(resourceOfPath('/api/v1/namespaces/kernel-ns')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/pods?watch=true')).toBe('pods');
    expect(resourceOfPath('/apis/sparkoperator.k8s.io/v1beta2/namespaces/ns/sparkapplications/a/status')).toBe('sparkapplications/status');
    expect(resourceOfPath('/readyz')).toBe('other');
    expect(verbOf('GET', '/api/v1/namespaces/ns/pods')).toBe('list');
    expect(verbOf('GET', '/api/v1/namespaces/ns/pods/p')).toBe('get');
    expect(verbOf('GET', '/api/v1/namespaces/ns')).toBe('get');
    expect(verbOf('GET', '/api/v1/namespaces/ns/events', true)).toBe('watch');
    expect(verbOf('POST', '/api/v1/namespaces/ns/pods')).toBe('create');
    expect(verbOf('DELETE', '/api/v1/namespaces/ns/pods/p')).toBe('delete');
  });

  it('reaches the observers of the same identity only, until they stop observing; a throwing observer is ignored', () => {
    const seen: string[] = [];
    const stop = observeKubeRequests(kubeConfig('gw'), { request: (e) => seen.push(`${e.verb} ${e.resource} ${e.status}`) });
    const stopBad = observeKubeRequests(kubeConfig('gw'), {
      request: () => {
        throw new Error('boom');
      },
    });
    reportKubeRequest(kubeConfig('gw'), 'POST', '/api/v1/namespaces/ns/pods', 201);
    reportKubeRequest(kubeConfig('other'), 'GET', '/api/v1/namespaces/ns/pods', 200);
    stop();
    stopBad();
    reportKubeRequest(kubeConfig('gw'), 'GET', '/api/v1/namespaces/ns/pods', 200);
    expect(seen).toEqual(['create pods 201']);
  });
});
