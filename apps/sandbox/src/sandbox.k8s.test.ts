/**
 * gp-sandbox as a person uses it: `./gp-sandbox --kubeconfig` from the checkout (the README's command; it runs the
 * set-up scripts, then the built app), the printed URL opened in headless Chromium (Debian `chromium` +
 * playwright-core), a notebook on "Kubernetes Python" running `print(6*7)`, the kernel pod seen through the
 * printed kubeconfig, an R notebook where IRkernel is installed, a second sandbox beside the first, then Ctrl-C
 * (SIGINT): every process it started is gone and its TMPDIR (where the sandbox's and the cluster's temp dirs live)
 * is empty. The notebook's screenshot goes to .test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { repoRoot, testPythonBin } from '@gp/testkit';
import { chromium, type Browser } from 'playwright-core';
import { hasIRkernel } from './kernels.js';
import { afterAll, expect, it } from 'vitest';

const CHROMIUM = process.env.GP_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS_DIR = join(repoRoot, '.test-artifacts');

const sandboxTmp = mkdtempSync(join(tmpdir(), 'gp-sandbox-test-'));
let sandbox: ChildProcess | undefined;
let stdout = '';
let stderr = '';
let browser: Browser | undefined;

/** `pid starttime` of every process below `root` (by parent pid), from /proc. */
function descendants(root: number): Map<number, string> {
  const parent = new Map<number, number>();
  const start = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      start.set(Number(entry), fields[19]!);
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map<number, string>();
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === pid && !out.has(child)) {
        out.set(child, start.get(child)!);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

function stillRunning(processes: Map<number, string>): number[] {
  return [...processes].filter(([pid, started]) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie (state Z) has exited; it keeps its /proc entry only until its new parent reaps it.
      return fields[0] !== 'Z' && fields[19] === started;
    } catch {
      return false;
    }
  }).map(([pid]) => pid);
}

async function waitFor<T>(what: string, timeoutMs: number, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; sandbox stderr:\n${stderr.slice(-4000)}\nstdout:\n${stdout.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (sandbox && sandbox.exitCode === null && sandbox.signalCode === null) {
    sandbox.kill('SIGTERM');
    await new Promise((r) => sandbox!.once('exit', r));
  }
  rmSync(sandboxTmp, { recursive: true, force: true });
});

it('./gp-sandbox serves JupyterLab whose Kubernetes Python (and R) notebooks run in pods; a second sandbox beside it gets its own ports; Ctrl-C leaves nothing', async () => {
  const venv = dirname(testPythonBin());
  sandbox = spawn('bash', [join(repoRoot, 'gp-sandbox'), '--kubeconfig'], {
    cwd: repoRoot,
    env: { ...process.env, TMPDIR: sandboxTmp, GP_VENV: venv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sandbox.stdout!.on('data', (d) => (stdout += d));
  sandbox.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => sandbox!.once('exit', (code) => resolve(code)));

  const labUrl = await waitFor('the URL to open', 300_000, () => {
    if (sandbox!.exitCode !== null) throw new Error(`gp-sandbox exited with ${sandbox!.exitCode}:\n${stderr}`);
    return /http:\/\/127\.0\.0\.1:\d+\/lab\?token=[0-9a-f]+/.exec(stdout)?.[0];
  });
  expect(stderr).toContain('not a production cluster');
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(stdout)?.[1];
  expect(kubeconfig).toBeDefined();
  expect(kubeconfig!.startsWith(sandboxTmp)).toBe(true);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 620 } });
  await page.goto(labUrl);
  const card = page.locator('.jp-LauncherCard[data-category="Notebook"][title="Kubernetes Python"]');
  await card.waitFor({ timeout: 120_000 });
  await card.click();
  const notebook = page.locator('.jp-NotebookPanel').last();
  await notebook.waitFor({ timeout: 60_000 });
  const output = notebook.locator('.jp-Cell').first().locator('.jp-OutputArea-output');
  try {
    // Once the status bar says Idle the pod's kernel answered on the notebook's WebSocket (JupyterLab drops a
    // cell run before that, with any kernel).
    await page.getByText('Kubernetes Python | Idle').waitFor({ timeout: 180_000 });
    await notebook.locator('.jp-Cell .cm-content').first().click();
    await page.keyboard.type("import os; print(6*7, os.environ['HOSTNAME'])");
    await page.keyboard.press('Shift+Enter');
    await output.waitFor({ timeout: 60_000 });
  } catch (e) {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'sandbox-notebook-failed.png') });
    writeFileSync(join(ARTIFACTS_DIR, 'sandbox-notebook-failed.log'), `${stderr}\n${stdout}`);
    throw new Error(`no cell output (screenshot and the sandbox's output in ${ARTIFACTS_DIR})`, { cause: e });
  }

  // The kernel pod, through the printed kubeconfig, as `kubectl get pods` would list it.
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig!);
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' })).items;
  expect(pods).toHaveLength(1);
  const pod = pods[0]!;
  expect(pod.status?.phase).toBe('Running');
  expect(pod.metadata?.labels?.kernel_id).toBeDefined();
  expect(pod.metadata?.name).toMatch(new RegExp(`-${pod.metadata!.labels!.kernel_id}$`));
  // The cell ran in that pod: the process node gives each pod's processes HOSTNAME=<pod name>.
  expect((await output.innerText()).trim()).toBe(`42 ${pod.metadata!.name}`);

  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, 'sandbox-notebook.png') });

  // R where IRkernel is installed: a "Kubernetes R" notebook runs in its own pod; else the sandbox says why not.
  await page.locator('.lm-TabBar-addButton:not(.lm-mod-hidden)').first().click(); // the tab bar's "+": a new launcher
  const rCard = page.locator('.jp-LauncherCard[data-category="Notebook"][title="Kubernetes R"]');
  if (hasIRkernel(process.env)) {
    await rCard.last().waitFor({ timeout: 30_000 });
    await rCard.last().click();
    const rNotebook = page.locator('.jp-NotebookPanel').last();
    const rOutput = rNotebook.locator('.jp-Cell').first().locator('.jp-OutputArea-output');
    try {
      await page.getByText('Kubernetes R | Idle').waitFor({ timeout: 180_000 });
      await rNotebook.locator('.jp-Cell .cm-content').first().click();
      await page.keyboard.type("cat(6*7, Sys.getenv('HOSTNAME'))");
      await page.keyboard.press('Shift+Enter');
      await rOutput.waitFor({ timeout: 60_000 });
    } catch (e) {
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'sandbox-notebook-r-failed.png') });
      writeFileSync(join(ARTIFACTS_DIR, 'sandbox-notebook-r-failed.log'), `${stderr}\n${stdout}`);
      throw new Error(`no R cell output (screenshot and the sandbox's output in ${ARTIFACTS_DIR})`, { cause: e });
    }
    const rPods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' })).items.map((p) => p.metadata!.name!);
    expect(rPods).toHaveLength(2);
    const rPod = rPods.find((name) => name !== pod.metadata!.name)!;
    expect((await rOutput.innerText()).trim()).toBe(`42 ${rPod}`);
  } else {
    expect(stderr).toContain('Kubernetes R is not offered');
    await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().waitFor({ timeout: 30_000 });
    expect(await rCard.count()).toBe(0);
  }
  await browser.close();
  browser = undefined;

  // A second sandbox beside the first picks its own ports (and has its own cluster and temp dir); SIGTERM stops it.
  const firstPort = Number(new URL(labUrl).port);
  let secondOut = '';
  let secondErr = '';
  const second = spawn(process.execPath, [join(repoRoot, 'apps', 'sandbox', 'dist', 'bin', 'gp-sandbox.js'), '--languages=python'], {
    cwd: repoRoot,
    env: { ...process.env, TMPDIR: sandboxTmp, GP_SANDBOX_PYTHON: join(testPythonBin(), 'python') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  second.stdout.on('data', (d) => (secondOut += d));
  second.stderr.on('data', (d) => (secondErr += d));
  const secondExited = new Promise<number | null>((resolve) => second.once('exit', (code) => resolve(code)));
  try {
    const secondUrl = await waitFor('the second sandbox\'s URL', 180_000, () => {
      if (second.exitCode !== null) throw new Error(`the second gp-sandbox exited with ${second.exitCode}:\n${secondErr}`);
      return /http:\/\/127\.0\.0\.1:\d+\/lab\?token=[0-9a-f]+/.exec(secondOut)?.[0];
    });
    const secondLab = new URL(secondUrl);
    expect(Number(secondLab.port)).not.toBe(firstPort);
    const specs = (await (await fetch(`${secondLab.origin}/api/kernelspecs`, { headers: { Authorization: `token ${secondLab.searchParams.get('token')}` } })).json()) as { kernelspecs: Record<string, unknown> };
    expect(Object.keys(specs.kernelspecs)).toEqual(['k8s_python']);
    const secondStarted = descendants(second.pid!);
    second.kill('SIGTERM');
    expect(await secondExited).toBe(0);
    expect(stillRunning(secondStarted)).toEqual([]);
  } finally {
    if (second.exitCode === null && second.signalCode === null) second.kill('SIGKILL');
  }
  // The first one still serves.
  expect((await fetch(`${new URL(labUrl).origin}/api/status`, { headers: { Authorization: `token ${new URL(labUrl).searchParams.get('token')}` } })).status).toBe(200);

  // Ctrl-C: everything the sandbox started goes (the kernel's processes included), and its temp dirs with it.
  const started = descendants(sandbox.pid!);
  expect(started.size).toBeGreaterThanOrEqual(8); // 5 cluster components, gateway, JupyterLab, the kernels'
  sandbox.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(stderr).toContain('stopped; nothing left running');
  expect(stillRunning(started)).toEqual([]);
  // Only corepack's compile cache of the pnpm that ./gp-sandbox's set-up runs may stay (a cache kept across runs
  // by design, like the machine's own /tmp/v8-compile-cache-<uid>); no temp dir of the sandbox or its cluster.
  expect(readdirSync(sandboxTmp).filter((e) => !/^v8-compile-cache-\d+$/.test(e))).toEqual([]);
  expect(existsSync(kubeconfig!)).toBe(false);
}, 600_000);
