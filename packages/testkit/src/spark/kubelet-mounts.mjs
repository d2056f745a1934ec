// The process node's volume stand-in for Spark pods (run by entrypoint.sh, not by the Go node): what a
// kubelet would mount into the container, written under the pod's sandbox ($HOME/mounts/<mountPath>), with the
// node's own credentials (system:node:gp-node, so the Node authorizer limits it to what the pod references).
// Prints one "mountPath<TAB>hostPath" line per volume mount. The pod is found by its UID, the name of
// the sandbox directory the node gives each pod ($HOME).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { basename, dirname, join } from 'node:path';

const env = process.env;
const api = new URL(env.GP_SPARK_NODE_API);
const tls = { ca: readFileSync(env.GP_SPARK_NODE_CA), cert: readFileSync(env.GP_SPARK_NODE_CERT), key: readFileSync(env.GP_SPARK_NODE_KEY) };
const sandbox = env.HOME;
const uid = basename(sandbox);

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = request(
      { host: api.hostname, port: api.port, path, method, ...tls, headers: { accept: 'application/json', ...(data ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => (res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`))));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function findPod() {
  for (let i = 0; i < 50; i++) {
    const list = await call('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${env.GP_SPARK_NODE_NAME ?? 'gp-node'}`)}`);
    const pod = list.items.find((p) => p.metadata.uid === uid);
    if (pod) return pod;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no pod with UID ${uid} on the node`);
}

function write(root, path, content, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content, { mode });
}

function fieldValue(pod, fieldPath) {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return pod.metadata[m[1]]?.[m[2]] ?? '';
  return { 'metadata.name': pod.metadata.name, 'metadata.namespace': pod.metadata.namespace, 'metadata.uid': pod.metadata.uid }[fieldPath] ?? '';
}

/** As a kubelet: a referenced object that does not exist yet (Spark creates its config map after the pod) is retried. */
async function getWithRetry(path, optional) {
  for (let i = 0; ; i++) {
    try {
      return await call('GET', path);
    } catch (e) {
      if (optional) return { data: {} };
      if (i >= 300) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function configMapItems(ns, source, root) {
  const cm = await getWithRetry(`/api/v1/namespaces/${ns}/configmaps/${source.name}`, source.optional);
  const items = source.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
  for (const it of items) write(root, it.path, cm.data?.[it.key] ?? '');
}

async function secretItems(ns, source, root) {
  const s = await getWithRetry(`/api/v1/namespaces/${ns}/secrets/${source.secretName ?? source.name}`, source.optional);
  const items = source.items ?? Object.keys(s.data ?? {}).map((key) => ({ key, path: key }));
  for (const it of items) write(root, it.path, Buffer.from(s.data?.[it.key] ?? '', 'base64'), 0o600);
}

async function mount(pod, volume, root) {
  const ns = pod.metadata.namespace;
  mkdirSync(root, { recursive: true });
  if (volume.configMap) await configMapItems(ns, volume.configMap, root);
  else if (volume.secret) await secretItems(ns, volume.secret, root);
  else if (volume.projected) {
    for (const src of volume.projected.sources ?? []) {
      if (src.configMap) await configMapItems(ns, src.configMap, root);
      if (src.secret) await secretItems(ns, src.secret, root);
      if (src.downwardAPI) for (const it of src.downwardAPI.items ?? []) write(root, it.path, fieldValue(pod, it.fieldRef?.fieldPath ?? ''));
      if (src.serviceAccountToken) {
        const sa = pod.spec.serviceAccountName ?? 'default';
        const tr = await call('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid }, ...(src.serviceAccountToken.audience ? { audiences: [src.serviceAccountToken.audience] } : {}) },
        });
        write(root, src.serviceAccountToken.path, tr.status.token, 0o600);
      }
    }
  }
  // emptyDir, hostPath and others: an empty directory in the sandbox.
}

const pod = await findPod();
const container = pod.spec.containers.find((c) => c.name === env.GP_SPARK_CONTAINER) ?? pod.spec.containers[0];
const lines = [`#pod\t${pod.metadata.namespace}\t${pod.metadata.name}`];
for (const vm of container.volumeMounts ?? []) {
  const volume = (pod.spec.volumes ?? []).find((v) => v.name === vm.name);
  if (!volume) continue;
  const root = join(sandbox, 'mounts', vm.mountPath);
  await mount(pod, volume, root);
  lines.push(`${vm.mountPath}\t${root}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
