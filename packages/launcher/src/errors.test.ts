import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CustomResourceNotInstalledError, kubernetesError } from './errors.js';
import { resourcePath } from './kube.js';

const podRef = { apiVersion: 'v1', kind: 'Pod', name: 'alice-1', namespace: 'team' };

describe('kubernetesError', () => {
  it('reads a 403 Status from an ApiException raw body', () => {
    const body = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'pods is forbidden: User "system:serviceaccount:gp:launcher" cannot create resource "pods" in API group "" in the namespace "team"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    const e = kubernetesError(new ApiException(403, 'Forbidden', body, {}), 'create', podRef);
    expect(e.code).toBe('GP_K8S_FORBIDDEN');
    expect(e.httpStatus).toBe(403);
    expect(e.reason).toBe('Forbidden');
    expect(e.message).toContain('create Pod "alice-1" in namespace "team"');
    expect(e.message).toContain('system:serviceaccount:gp:launcher');
    expect(e.message).toContain('cannot create resource "pods"');
    expect(e.details).toMatchObject({ verb: 'create', kind: 'Pod', name: 'alice-1', namespace: 'team', statusCode: 403, reason: 'Forbidden' });
  });
  it('maps {statusCode, body} with causes for 422', () => {
    const body = JSON.stringify({
      reason: 'Invalid',
      message: 'Pod "x" is invalid: spec.containers[0].image: Required value',
      details: { causes: [{ field: 'spec.containers[0].image', message: 'Required value' }] },
    });
    const e = kubernetesError({ statusCode: 422, body }, 'create', podRef);
    expect(e.code).toBe('GP_K8S_INVALID');
    expect(e.details.causes).toEqual(['spec.containers[0].image: Required value']);
  });
  it('maps not found, already exists, 401 without body and non-JSON bodies', () => {
    const nf = kubernetesError({ statusCode: 404, body: JSON.stringify({ reason: 'NotFound', message: 'namespaces "nope" not found' }) }, 'create', podRef);
    expect(nf.code).toBe('GP_K8S_NOT_FOUND');
    expect(nf.isNotFound).toBe(true);
    const ae = kubernetesError({ statusCode: 409, body: JSON.stringify({ reason: 'AlreadyExists', message: 'exists' }) }, 'create', podRef);
    expect(ae.isAlreadyExists).toBe(true);
    const ua = kubernetesError(new ApiException(401, 'Unauthorized', undefined, {}), 'get', podRef);
    expect(ua.code).toBe('GP_K8S_UNAUTHORIZED');
    expect(ua.reason).toBe('Unauthorized');
    const html = kubernetesError({ statusCode: 503, body: '<html>bad gateway</html>' }, 'create', podRef);
    expect(html.code).toBe('GP_K8S_SERVER_ERROR');
    expect(html.message).toContain('bad gateway');
  });
  it('maps transport failures', () => {
    const e = kubernetesError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }), 'create', podRef, 'https://127.0.0.1:6443');
    expect(e.code).toBe('GP_K8S_UNREACHABLE');
    expect(e.message).toContain('https://127.0.0.1:6443');
    expect(e.message).toContain('ECONNREFUSED');
  });
  it('says when the Spark Operator is missing', () => {
    const e = new CustomResourceNotInstalledError({ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', name: 'k' }, 'sparkapplications');
    expect(e.code).toBe('GP_CRD_NOT_INSTALLED');
    expect(e.message).toContain('the Spark Operator is not installed in this cluster');
  });
});

describe('resourcePath', () => {
  it('builds core, group, namespaced and cluster paths', () => {
    expect(resourcePath({ apiVersion: 'v1', kind: 'Pod', namespace: 'a' })).toBe('/api/v1/namespaces/a/pods');
    expect(resourcePath({ apiVersion: 'v1', kind: 'Namespace', name: 'a' })).toBe('/api/v1/namespaces/a');
    expect(resourcePath({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespace: 'a', name: 'b' })).toBe(
      '/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings/b',
    );
    expect(resourcePath({ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', namespace: 'a' })).toBe(
      '/apis/sparkoperator.k8s.io/v1beta2/namespaces/a/sparkapplications',
    );
  });
});
