import { existsSync, readFileSync } from 'node:fs';
import { ApiException, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, VersionApi, type V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { useCluster } from './vitest.js';

const cluster = useCluster();
const core = cluster.core;

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

async function readPod(namespace: string, name: string): Promise<V1Pod> {
  return core.readNamespacedPod({ namespace, name });
}

function pidOf(pod: V1Pod): number {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const pid = Number(/^gp-process:\/\/(\d+)$/.exec(id)?.[1]);
  expect(pid).toBeGreaterThan(0);
  return pid;
}

function processAlive(pid: number): boolean {
  // A zombie is dead for our purposes.
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

describe('control plane', () => {
  it('serves the API over TLS with the admin client certificate', async () => {
    const node = await core.readNode({ name: cluster.info.nodeName });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe(cluster.info.kubernetesVersion);
    expect(cluster.apiServerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await cluster.kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(cluster.info.kubernetesVersion);
  });

  it('RBAC denies an identity without a role and allows it once bound', async () => {
    const ns = await cluster.createNamespace('rbac');
    const alice = cluster.kubeConfigFor({ user: 'alice', groups: ['gp-testers'] }).makeApiClient(CoreV1Api);
    const denied = await alice.listNamespacedPod({ namespace: ns }).catch((e: unknown) => e);
    expect(statusOf(denied)).toBe(403);

    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'alice-reads-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
      },
    });
    const list = await cluster.waitFor(() => alice.listNamespacedPod({ namespace: ns }), { description: 'alice to list pods' });
    expect(list.items).toEqual([]);
    // Still nothing beyond the role: no writes, no other namespace.
    const write = await alice
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } })
      .catch((e: unknown) => e);
    expect(statusOf(write)).toBe(403);
    const other = await alice.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
    expect(statusOf(other)).toBe(403);
  });

  it('service accounts get tokens from the TokenRequest API, and RBAC applies to them', async () => {
    const ns = await cluster.createNamespace('sa');
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'gateway' } } });
    const gateway = (await cluster.kubeConfigForServiceAccount(ns, 'gateway')).makeApiClient(CoreV1Api);
    expect(statusOf(await gateway.listNamespacedPod({ namespace: ns }).catch((e: unknown) => e))).toBe(403);
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'gateway-edit' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
        subjects: [{ kind: 'ServiceAccount', name: 'gateway', namespace: ns }],
      },
    });
    const cm = await cluster.waitFor(
      () => gateway.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'made-by-sa' } } }),
      { description: 'the service account to create a ConfigMap' },
    );
    expect(cm.metadata?.name).toBe('made-by-sa');
  });

  it('deletes a namespace completely (namespace controller)', async () => {
    const ns = await cluster.createNamespace('doomed');
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inside' } } });
    await core.deleteNamespace({ name: ns });
    await cluster.waitFor(
      async () => {
        const err = await core.readNamespace({ name: ns }).then(
          () => undefined,
          (e: unknown) => e,
        );
        return statusOf(err) === 404;
      },
      { timeoutMs: 90_000, description: `namespace ${ns} to be gone` },
    );
  });

  it('cascades deletion through ownerReferences (garbage collector)', async () => {
    const ns = await cluster.createNamespace('gc');
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await cluster.waitFor(
      async () => statusOf(await core.readNamespacedConfigMap({ namespace: ns, name: 'dependent' }).catch((e: unknown) => e)) === 404,
      { description: 'the dependent ConfigMap to be garbage-collected' },
    );
  });

  it('enforces resource quotas', async () => {
    const ns = await cluster.createNamespace('quota');
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'q' }, spec: { hard: { configmaps: '2' } } } });
    // The quota controller fills in usage (kube-root-ca.crt already counts as one).
    await cluster.waitFor(
      async () => (await core.readNamespacedResourceQuota({ namespace: ns, name: 'q' })).status?.used?.configmaps !== undefined,
      { description: 'quota usage to be computed' },
    );
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'one' } } });
    const err = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'two' } } }).catch((e: unknown) => e);
    expect(statusOf(err)).toBe(403);
    expect((err as ApiException<string>).body).toContain('exceeded quota');
  });

  it('validates SparkApplications with the operator CRD schema', async () => {
    const ns = await cluster.createNamespace('spark');
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const app = (spec: Record<string, unknown>) => ({
      apiVersion: 'sparkoperator.k8s.io/v1beta2',
      kind: 'SparkApplication',
      metadata: { name: 'pi' },
      spec,
    });
    const complete = {
      type: 'Python',
      mode: 'cluster',
      sparkVersion: '3.5.0',
      mainApplicationFile: 'local:///opt/spark/examples/src/main/python/pi.py',
      driver: { cores: 1, memory: '512m' },
      executor: { instances: 1, cores: 1, memory: '512m' },
    };
    const { sparkVersion: _omitted, ...missing } = complete;
    const err = await custom
      .createNamespacedCustomObject({ group: 'sparkoperator.k8s.io', version: 'v1beta2', namespace: ns, plural: 'sparkapplications', body: app(missing) })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toBe(422);
    expect((err as ApiException<string>).body).toContain('sparkVersion');
    const created = await custom.createNamespacedCustomObject({
      group: 'sparkoperator.k8s.io',
      version: 'v1beta2',
      namespace: ns,
      plural: 'sparkapplications',
      body: app(complete),
    });
    expect(created.metadata.name).toBe('pi');
  });
});

describe('scheduler', () => {
  it.each([
    ['cpu', { cpu: '64' }, 'Insufficient cpu'],
    ['memory', { memory: '512Gi' }, 'Insufficient memory'],
    ['a GPU', { 'nvidia.com/gpu': '1' }, 'Insufficient nvidia.com/gpu'],
  ])('leaves a pod asking for more %s than the node has Unschedulable', async (_what, requests, message) => {
    const ns = await cluster.createNamespace('big');
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'huge' },
        spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '60'], resources: { requests, limits: requests } }] },
      },
    });
    const condition = await cluster.waitFor(
      async () => (await readPod(ns, 'huge')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'),
      { description: 'PodScheduled=False' },
    );
    expect(condition.reason).toBe('Unschedulable');
    const event = await cluster.waitFor(
      async () => (await cluster.events(ns, { involvedObjectName: 'huge', reason: 'FailedScheduling' }))[0],
      { description: 'a FailedScheduling event' },
    );
    expect(event.source?.component ?? event.reportingComponent).toBe('default-scheduler');
    expect(event.message).toContain(message);
    expect((await readPod(ns, 'huge')).spec?.nodeName).toBeUndefined();
  });
});

describe('process node', () => {
  it('runs a sleep pod as a process with an IP, and kills it on delete', async () => {
    const ns = await cluster.createNamespace('sleep');
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'sleeper' },
        spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    });
    const pod = await cluster.waitFor(
      async () => {
        const p = await readPod(ns, 'sleeper');
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { description: 'the sleep pod to run' },
    );
    expect(pod.spec?.nodeName).toBe(cluster.info.nodeName);
    expect(pod.status?.podIP).toBe('127.0.0.1');
    expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const pid = pidOf(pod);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(['sleep', '3600', '']);

    await core.deleteNamespacedPod({ namespace: ns, name: 'sleeper' });
    await cluster.waitFor(
      async () => statusOf(await readPod(ns, 'sleeper').catch((e: unknown) => e)) === 404,
      { description: 'the pod to be removed' },
    );
    expect(processAlive(pid)).toBe(false);
    const killing = await cluster.events(ns, { involvedObjectName: 'sleeper', reason: 'Killing' });
    expect(killing.length).toBeGreaterThan(0);
  });

  it('sends SIGTERM first and SIGKILL after the grace period', async () => {
    const ns = await cluster.createNamespace('grace');
    // A shell that notes SIGTERM but keeps running: only SIGKILL ends it.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'stubborn' },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', "trap 'echo got TERM' TERM; echo started; while true; do sleep 1; done"] }],
        },
      },
    });
    const pod = await cluster.waitFor(async () => {
      const p = await readPod(ns, 'stubborn');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    const pid = pidOf(pod);
    await cluster.waitFor(() => cluster.podLogs(ns, 'stubborn').includes('started'), { description: 'the shell to start' });
    await core.deleteNamespacedPod({ namespace: ns, name: 'stubborn' });
    await cluster.waitFor(
      async () => statusOf(await readPod(ns, 'stubborn').catch((e: unknown) => e)) === 404,
      { description: 'the pod to be removed' },
    );
    expect(processAlive(pid)).toBe(false);
    // The log outlives the pod: SIGTERM came first and was survived, so SIGKILL ended it.
    expect(cluster.podLogs(ns, 'stubborn')).toContain('got TERM');
  });

  it('reports ErrImagePull then ImagePullBackOff for an image not in the table', async () => {
    const ns = await cluster.createNamespace('pull');
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'nope' }, spec: { containers: [{ name: 'main', image: 'example.com/no-such-image:1.0' }] } },
    });
    const reasons = await cluster.waitFor(
      async () => {
        const events = await cluster.events(ns, { involvedObjectName: 'nope' });
        const messages = events.map((e) => `${e.reason}: ${e.message}`);
        return messages.some((m) => m === 'Failed: Error: ErrImagePull') && messages.some((m) => m === 'Failed: Error: ImagePullBackOff')
          ? messages
          : undefined;
      },
      { description: 'ErrImagePull and ImagePullBackOff events' },
    );
    expect(reasons).toContain('BackOff: Back-off pulling image "example.com/no-such-image:1.0"');
    const pod = await readPod(ns, 'nope');
    expect(pod.status?.phase).toBe('Pending');
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason);
  });

  it('starts a pending pod once its image is registered, with the image entrypoint, env and fieldRefs', async () => {
    const ns = await cluster.createNamespace('late');
    const image = `gp-test/echo-env-${ns}:1`;
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'env', labels: { app: 'env-test' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image,
              args: ['echo "$POD_NAME $POD_NAMESPACE $POD_IP $APP $FROM_IMAGE $GREETING" && pwd'],
              workingDir: '/tmp',
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
                { name: 'GREETING', value: 'hello-$(POD_NAME)' },
              ],
            },
          ],
        },
      },
    });
    await cluster.waitFor(async () => (await readPod(ns, 'env')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' || undefined, {
      description: 'ErrImagePull before the image exists',
    });
    cluster.registerImage(image, { command: ['sh', '-c'], args: ['echo default'], env: { FROM_IMAGE: 'image-env' } });
    const pod = await cluster.waitFor(
      async () => {
        const p = await readPod(ns, 'env');
        return p.status?.phase === 'Succeeded' ? p : undefined;
      },
      { timeoutMs: 60_000, description: 'the pod to succeed' },
    );
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
    expect(cluster.podLogs(ns, 'env')).toBe(`env ${ns} 127.0.0.1 env-test image-env hello-env\n/tmp\n`);
  });

  it('gives each pod process its own hostname: the pod name, or spec.hostname (a UTS namespace per pod)', async () => {
    const ns = await cluster.createNamespace('host');
    const hostnamePod = (name: string, hostname?: string) =>
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            restartPolicy: 'Never',
            ...(hostname ? { hostname } : {}),
            // What the kernel reads (socket.gethostname(), Sys.info()) comes from uname(2): /proc shows it too.
            containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'cat /proc/sys/kernel/hostname; echo "$HOSTNAME"'] }],
          },
        },
      });
    const long = `p${'x'.repeat(70)}`.slice(0, 70);
    await Promise.all([hostnamePod('alice-kernel'), hostnamePod('named', 'custom-host'), hostnamePod(long)]);
    for (const name of ['alice-kernel', 'named', long]) {
      await cluster.waitFor(async () => (await readPod(ns, name)).status?.phase === 'Succeeded' || undefined, { timeoutMs: 60_000, description: `pod ${name} to succeed` });
    }
    expect(cluster.podLogs(ns, 'alice-kernel')).toBe('alice-kernel\nalice-kernel\n');
    expect(cluster.podLogs(ns, 'named')).toBe('custom-host\ncustom-host\n');
    // Cut to the 63 characters a hostname may have, as Kubernetes does.
    expect(cluster.podLogs(ns, long)).toBe(`${long.slice(0, 63)}\n${long.slice(0, 63)}\n`);
    // The machine's own hostname is untouched.
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).not.toBe('alice-kernel');
  });

  it('reports Failed with the exit code under restartPolicy Never', async () => {
    const ns = await cluster.createNamespace('fail');
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'exit3' }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] } },
    });
    const pod = await cluster.waitFor(async () => {
      const p = await readPod(ns, 'exit3');
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('puts a container that keeps exiting under restartPolicy Always into CrashLoopBackOff', async () => {
    const ns = await cluster.createNamespace('crash');
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'crasher' }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 1'] }] } },
    });
    const status = await cluster.waitFor(
      async () => {
        const cs = (await readPod(ns, 'crasher')).status?.containerStatuses?.[0];
        return cs?.state?.waiting?.reason === 'CrashLoopBackOff' ? cs : undefined;
      },
      { description: 'CrashLoopBackOff' },
    );
    expect(status.restartCount).toBeGreaterThanOrEqual(1);
    expect(status.lastState?.terminated?.exitCode).toBe(1);
    const backoff = await cluster.events(ns, { involvedObjectName: 'crasher', reason: 'BackOff' });
    expect(backoff[0]?.message).toContain('Back-off restarting failed container main');
  });
});
