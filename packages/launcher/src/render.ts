/**
 * Rendering a kernel template with `@gp/templates`: the template comes from the kernelspec's `scripts/`
 * directory when there is one (users edit that copy), else the packaged template.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelTemplateVars, parseRenderedDocuments, renderTemplate, templateFilePath, type TemplateVars } from '@gp/templates';
import { ConfigError, LAUNCHER_TEMPLATES } from '@gp/core';
import type { ResolvedLaunch } from './inputs.js';
import { checkRequestVolumes } from './manifests.js';

export const KERNEL_POD_TEMPLATE = LAUNCHER_TEMPLATES.kubernetes;

export interface TemplateSource {
  name: string;
  path?: string;
  source: string;
}

/** `<dir>/<name>` if it exists, else the packaged template of that name. */
export function loadTemplate(name: string, dir?: string): TemplateSource {
  const candidates: string[] = dir ? [join(dir, name)] : [];
  try {
    candidates.push(templateFilePath(name));
  } catch {
    // not a packaged template name: only the kernelspec's copy can serve
  }
  for (const path of candidates) {
    if (existsSync(path)) return { name, path, source: readFileSync(path, 'utf8') };
  }
  throw new ConfigError(
    'template',
    { kind: 'kernelspec', ...(dir ? { path: dir } : {}) },
    name,
    candidates.length ? `a template file at ${candidates.join(' or ')}` : `a packaged template name or a template in the kernelspec's scripts/ directory`,
  );
}

/** Template variables: every KERNEL_* (as `kernel_*`, resolved values written back) plus the launcher's arguments. */
export function templateVars(r: ResolvedLaunch): TemplateVars {
  const vars = kernelTemplateVars({ ...r.kernelEnv, KERNEL_RESOURCE_NAME: r.podName }) as Record<string, unknown>;
  if (r.workingDir === undefined) delete vars.kernel_working_dir;
  checkRequestVolumes(vars.kernel_volumes, r.settings.allowHostPathVolumes);
  Object.assign(vars, {
    kernel_id: r.kernelId,
    port_range: r.portRange,
    response_address: r.responseAddress,
    public_key: r.publicKey,
    spark_context_initialization_mode: r.sparkContextInitMode,
    // The pod's `app` label is the host's (GP_APP_NAME), never the request's KERNEL_APP_NAME.
    kernel_app_name: r.settings.appName,
  });
  if (r.kernelClassName) vars.kernel_class_name = r.kernelClassName;
  // `auto` / `required` when the host asked for CurveZMQ keys (the reference's SparkApplication template variable).
  if (r.podEnv.TRANSPORT_ENCRYPTION) vars.transport_encryption = r.podEnv.TRANSPORT_ENCRYPTION;
  return vars as TemplateVars;
}

/** Renders and safely parses the documents of `template` for this launch. */
export function renderDocuments(template: TemplateSource, r: ResolvedLaunch): unknown[] {
  const text = renderTemplate(template.source, templateVars(r), { name: template.name });
  return parseRenderedDocuments(text, { name: template.name });
}
