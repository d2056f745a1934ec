#!/usr/bin/env node
// Cold wall time of `k8s-spec install` (a whole `node` process per run), median over several runs, for the
// default spec and for `--crd --spark`; with node's bare startup and, when the project venv has it, the
// reference Python CLI (`jupyter-k8s-spec`) for comparison. Prints a markdown table.
// Usage: node bench/install-bench.mjs [runs]   (needs `pnpm build` first; `pnpm bench` does it)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(pkgDir, 'dist', 'bin', 'k8s-spec.js');
const runs = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 15);
const TARGET_S = 0.15;

if (!existsSync(bin)) {
  console.error(`bench: ${bin} is missing; run 'pnpm --filter @gp/spec-cli build' first.`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'gp-bench-'));
const env = { PATH: process.env.PATH, HOME: join(work, 'home'), JUPYTER_CONFIG_DIR: join(work, 'config'), JUPYTER_DATA_DIR: join(work, 'data') };

function time(cmd, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return seconds;
}

function quantile(sorted, q) {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

function measure(label, cmd, args, n = runs) {
  time(cmd, args); // warm the file-system cache; every measured run is still a fresh process
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(time(cmd, args));
  samples.sort((a, b) => a - b);
  return { label, runs: n, median: quantile(samples, 0.5), p90: quantile(samples, 0.9), min: samples[0], max: samples[samples.length - 1] };
}

const prefix = join(work, 'prefix');
const rows = [];
try {
  rows.push(measure('node -e "" (startup baseline)', process.execPath, ['-e', '']));
  rows.push(measure('k8s-spec install', process.execPath, [bin, 'install', '--prefix', prefix, '--replace']));
  rows.push(measure('k8s-spec install --crd --spark', process.execPath, [bin, 'install', '--crd', '--spark', '--prefix', prefix, '--replace']));
  const reference = join(pkgDir, '..', '..', '.venv', 'bin', 'jupyter-k8s-spec');
  if (existsSync(reference) && process.env.BENCH_SKIP_REFERENCE !== '1') {
    rows.push(measure('reference (Python) jupyter-k8s-spec install', reference, ['install', '--prefix', join(work, 'ref'), '--replace'], Math.min(runs, 5)));
  }
} catch (error) {
  console.error(`bench: ${error.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });

const s = (v) => `${v.toFixed(3)} s`;
console.log(`\n### k8s-spec install: cold wall time per process (target: median < ${TARGET_S} s)\n`);
console.log('| command | runs | median | p90 | min | max |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.label} | ${r.runs} | ${s(r.median)} | ${s(r.p90)} | ${s(r.min)} | ${s(r.max)} |`);
const ours = rows.filter((r) => r.label.startsWith('k8s-spec'));
console.log(`\n${ours.every((r) => r.median < TARGET_S) ? 'PASS' : 'OVER TARGET'}: ${ours.map((r) => `${r.label} median ${s(r.median)}`).join(', ')}\n`);
