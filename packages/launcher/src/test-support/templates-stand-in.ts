// Unit-test stand-in for @gp/templates (used through vi.mock until/unless a test needs the real renderer):
// `{{ name }}` placeholders become JSON strings, so values can never change the YAML structure.
import { parseAllDocuments } from 'yaml';

export type TemplateVars = Record<string, unknown>;

export function templateFilePath(name: string): string {
  return `/nonexistent/packaged/${name}`;
}

export function kernelTemplateVars(env: Record<string, string | undefined>): TemplateVars {
  const vars: TemplateVars = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('KERNEL_') || v === undefined) continue;
    vars[k.toLowerCase()] = k === 'KERNEL_VOLUMES' || k === 'KERNEL_VOLUME_MOUNTS' ? JSON.parse(v) : v;
  }
  return vars;
}

export function renderTemplate(source: string, vars: TemplateVars): string {
  return source.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => JSON.stringify(vars[name] ?? ''));
}

export function parseRenderedDocuments(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}

export const POD_TEMPLATE = `apiVersion: v1
kind: Pod
metadata:
  name: {{ kernel_pod_name }}
  namespace: {{ kernel_namespace }}
  labels:
    kernel_id: {{ kernel_id }}
    app: gateway-provisioners
    component: kernel
spec:
  restartPolicy: Never
  serviceAccountName: {{ kernel_service_account_name }}
  containers:
    - name: kernel
      image: {{ kernel_image }}
      env:
        - name: FROM_TEMPLATE
          value: "yes"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ kernel_pod_name }}
data:
  user: {{ kernel_username }}
`;
