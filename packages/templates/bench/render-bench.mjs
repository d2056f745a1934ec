#!/usr/bin/env node
// Render time of the shipped templates: gp's renderTemplate (render + structural verification), the same without
// verification (plain nunjucks), and parseRenderedDocuments; with Python Jinja2 from the project venv for
// comparison when it exists. Median and p90 over many renders in one process. Prints a markdown table.
// Usage: node bench/render-bench.mjs [iterations]   (needs `pnpm build` first; `pnpm bench` does it)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkgDir, 'dist', 'index.js');
if (!existsSync(dist)) {
  console.error(`bench: ${dist} is missing; run 'pnpm --filter @gp/templates build' first.`);
  process.exit(1);
}
const { kernelTemplateVars, parseRenderedDocuments, renderTemplate, templateFilePath, TEMPLATE_NAMES } = await import(dist);
const nunjucks = (await import('nunjucks')).default;
const n = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 300);

const env = {
  KERNEL_USERNAME: 'alice', KERNEL_POD_NAME: 'alice-k1', KERNEL_RESOURCE_NAME: 'alice-k1', KERNEL_NAMESPACE: 'default',
  KERNEL_SERVICE_ACCOUNT_NAME: 'default', KERNEL_IMAGE: 'elyra/kernel-py:dev', KERNEL_EXECUTOR_IMAGE: 'elyra/kernel-py:dev',
  KERNEL_UID: '1000', KERNEL_GID: '100', KERNEL_CPUS: '1', KERNEL_MEMORY: '2g', KERNEL_WORKING_DIR: '/home/jovyan',
  KERNEL_VOLUMES: '[{"name": "data", "emptyDir": {}}]', KERNEL_VOLUME_MOUNTS: '[{"name": "data", "mountPath": "/data"}]',
};
const keywords = { kernel_id: 'k1', port_range: '0..0', response_address: '10.0.0.1:8877', public_key: 'KEY', spark_context_initialization_mode: 'lazy' };

function stats(fn) {
  for (let i = 0; i < Math.min(50, n); i++) fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(n / 2)], p90: times[Math.floor(n * 0.9)] };
}

const fmt = (s) => `${s.median.toFixed(3)} ms | ${s.p90.toFixed(3)} ms`;
const rows = [];
for (const name of TEMPLATE_NAMES) {
  const source = readFileSync(templateFilePath(name), 'utf8');
  const vars = { ...kernelTemplateVars(env), ...keywords };
  const plain = new nunjucks.Environment([], { autoescape: false, trimBlocks: true, lstripBlocks: true });
  const compiled = nunjucks.compile(source, plain);
  const text = renderTemplate(source, vars, { name });
  rows.push([name, 'gp renderTemplate (render + verify)', fmt(stats(() => renderTemplate(source, vars, { name })))]);
  rows.push([name, 'nunjucks render only (no escaping, no verification)', fmt(stats(() => compiled.render(vars)))]);
  rows.push([name, 'parseRenderedDocuments', fmt(stats(() => parseRenderedDocuments(text, { name })))]);
  const python = join(pkgDir, '..', '..', '.venv', 'bin', 'python');
  if (existsSync(python)) {
    const script = `
import json, sys, time, yaml, jinja2
p = json.load(sys.stdin)
kw = dict(p["keywords"])
for k, v in p["env"].items(): kw[k.lower()] = yaml.safe_load(v)
t = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False).from_string(p["source"])
for _ in range(50): t.render(**kw)
ts = []
for _ in range(p["n"]):
    s = time.perf_counter(); t.render(**kw); ts.append((time.perf_counter() - s) * 1000)
ts.sort(); print(json.dumps({"median": ts[len(ts)//2], "p90": ts[int(len(ts)*0.9)]}))`;
    const r = spawnSync(python, ['-c', script], { input: JSON.stringify({ source, env, keywords, n }), encoding: 'utf8' });
    if (r.status === 0) rows.push([name, 'Python Jinja2 render (reference, no verification)', fmt(JSON.parse(r.stdout))]);
  }
}
console.log(`\n@gp/templates render time (${n} renders each)\n`);
console.log('| template | what | median | p90 |');
console.log('|---|---|---|---|');
for (const [t, what, s] of rows) console.log(`| ${t} | ${what} | ${s} |`);
