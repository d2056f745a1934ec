/**
 * End-to-end: runs the built `k8s-spec` executable as a user would, and checks the result with the real
 * `jupyter kernelspec list --json` from the project's venv. Builds the bin first when it is missing or
 * older than the sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testPythonBin } from '@gp/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(pkgDir, 'dist', 'bin', 'k8s-spec.js');
const require = createRequire(import.meta.url);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function launcherBuilt(): boolean {
  try {
    return existsSync(require.resolve('@gp/launcher/scripts/launch_kubernetes.mjs')) && existsSync(require.resolve('@gp/launcher/scripts/launch_custom_resource.mjs'));
  } catch {
    return false;
  }
}

beforeAll(() => {
  if (!launcherBuilt()) execFileSync('pnpm', ['--filter', '@gp/launcher', 'build'], { cwd: pkgDir, stdio: 'pipe', timeout: 300_000 });
  // The bin bundles @gp/core's sources too, so either changing makes it stale.
  const sources = Math.max(newestMtime(join(pkgDir, 'src')), newestMtime(join(pkgDir, '..', 'core', 'src')));
  if (!existsSync(bin) || statSync(bin).mtimeMs < sources) {
    execFileSync('pnpm', ['exec', 'tsup'], { cwd: pkgDir, stdio: 'pipe', timeout: 300_000 });
  }
  expect(existsSync(bin), `the k8s-spec bin was not built at ${bin}`).toBe(true);
}, 600_000);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function tempHome(): { root: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), 'gp-e2e-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(root, 'home'),
    JUPYTER_CONFIG_DIR: join(root, 'config'),
    JUPYTER_DATA_DIR: join(root, 'data'),
  };
  return { root, env };
}

function k8sSpec(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string, base = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${base}${e.name}/`) : [`${base}${e.name}`],
  ).sort();
}

const LOG_LINE = /^\[([DIWEC]) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\w+)\] (.*)$/;

describe('k8s-spec install (built bin)', () => {
  it('installs the default spec with the reference layout, kernel.json and log lines', () => {
    const { root, env } = tempHome();
    const r = k8sSpec(['install', '--prefix', join(root, 'p')], env);
    expect(r.stderr).not.toMatch(/\[E /);
    expect(r.status).toBe(0);
    const dir = join(root, 'p', 'share', 'jupyter', 'kernels', 'k8s_python');
    const lines = r.stderr.trim().split('\n');
    expect(lines.map((l) => LOG_LINE.exec(l)?.slice(1))).toEqual([
      ['I', 'K8sSpecInstaller', "Installing kernel specification for 'Kubernetes Python'"],
      ['I', 'K8sSpecInstaller', `Installed kernelspec k8s_python in ${dir}`],
    ]);
    expect(listFiles(dir)).toEqual(['kernel.json', 'logo-64x64.png', 'scripts/kernel-pod.yaml.j2', 'scripts/launch_kubernetes.mjs']);
    const text = readFileSync(join(dir, 'kernel.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual(['argv', 'env', 'display_name', 'language', 'interrupt_mode', 'metadata']);
    expect(json.argv).toEqual([
      'node', `${dir}/scripts/launch_kubernetes.mjs`, '--kernel-id', '{kernel_id}', '--port-range', '{port_range}',
      '--response-address', '{response_address}', '--public-key', '{public_key}', '--transport-encryption', '{transport_encryption}',
      '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel',
    ]);
    expect(json.metadata).toEqual({
      supported_encryption: ['curve'],
      debugger: true,
      kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: 'elyra/kernel-py:3.2.3', launch_timeout: 30 } },
    });
    // Buffer.equals: the bundle is megabytes, too big for a deep-equality diff.
    expect(readFileSync(join(dir, 'scripts', 'launch_kubernetes.mjs')).equals(readFileSync(require.resolve('@gp/launcher/scripts/launch_kubernetes.mjs')))).toBe(true);
    expect(readFileSync(join(dir, 'scripts', 'kernel-pod.yaml.j2'), 'utf8')).toBe(readFileSync(require.resolve('@gp/templates/package.json').replace(/package\.json$/, 'templates/kernel-pod.yaml.j2'), 'utf8'));
    const png = readFileSync(join(dir, 'logo-64x64.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([64, 64]);
  });

  it('installs --crd --spark as the Spark Operator spec', () => {
    const { root, env } = tempHome();
    const r = k8sSpec(['install', '--crd', '--spark', '--prefix', join(root, 'p')], env);
    expect(r.status).toBe(0);
    const dir = join(root, 'p', 'share', 'jupyter', 'kernels', 'k8s_python_spark_operator');
    expect(r.stderr).toContain("Installing kernel specification for 'Kubernetes Spark Operator'");
    expect(listFiles(dir)).toEqual(['kernel.json', 'logo-64x64.png', 'scripts/launch_custom_resource.mjs', 'scripts/sparkoperator.k8s.io-v1beta2.yaml.j2']);
    const json = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
    expect(json.argv.slice(0, 2)).toEqual(['node', `${dir}/scripts/launch_custom_resource.mjs`]);
    expect(json.argv).toContain('--spark-context-initialization-mode');
    expect(json.metadata.kernel_provisioner.provisioner_name).toBe('spark-operator-provisioner');
  });

  it('--user follows JUPYTER_DATA_DIR; precedence is config file < env < flag', () => {
    const { root, env } = tempHome();
    mkdirSync(env.JUPYTER_CONFIG_DIR!, { recursive: true });
    writeFileSync(join(env.JUPYTER_CONFIG_DIR!, 'jupyter_k8s_spec_config.yaml'), 'BaseSpecApp:\n  port_range: 40000..41000\n  launch_timeout: 11\nimage_name: from/file:1\nkernel_name: from_file\n');
    const r = k8sSpec(['install', '--user', '--image-name', 'from/flag:1'], { ...env, GP_LAUNCH_TIMEOUT: '22', GP_IMAGE_NAME: 'from/env:1' });
    expect(r.stderr).not.toMatch(/\[E /);
    expect(r.status).toBe(0);
    const json = JSON.parse(readFileSync(join(root, 'data', 'kernels', 'from_file', 'kernel.json'), 'utf8'));
    expect(json.metadata.kernel_provisioner.config).toEqual({ image_name: 'from/flag:1', port_range: '40000..41000', launch_timeout: 22 });
  });

  it('--config FILE (JSON) and --sys-prefix (VIRTUAL_ENV)', () => {
    const { root, env } = tempHome();
    const cfg = join(root, 'c.json');
    writeFileSync(cfg, JSON.stringify({ K8sSpecInstaller: { spark: true, language: 'r' }, authorized_users: ['bob', 'al'] }));
    const venv = join(root, 'venv');
    const r = k8sSpec(['install', '--config', cfg, '--sys-prefix'], { ...env, VIRTUAL_ENV: venv });
    expect(r.status).toBe(0);
    const dir = join(venv, 'share', 'jupyter', 'kernels', 'k8s_r_spark');
    expect(listFiles(dir)).toEqual(['bin/run.sh', 'kernel.json', 'logo-64x64.png', 'scripts/kernel-pod.yaml.j2', 'scripts/launch_kubernetes.mjs']);
    expect(statSync(join(dir, 'bin', 'run.sh')).mode & 0o111).toBe(0o111);
    expect(JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')).metadata.kernel_provisioner.config.authorized_users).toEqual(['bob', 'al']);
  });

  it('names the Python config files it does not read: a skipped default one is a warning, --config x.py an error', () => {
    const { root, env } = tempHome();
    mkdirSync(env.JUPYTER_CONFIG_DIR!, { recursive: true });
    const py = join(env.JUPYTER_CONFIG_DIR!, 'jupyter_k8s_spec_config.py');
    writeFileSync(py, 'c.BaseSpecApp.port_range = "40000..41000"\n');
    const r = k8sSpec(['install', '--prefix', join(root, 'p')], env);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`[W `);
    expect(r.stderr).toContain(`Skipped ${py}: gp reads only JSON or YAML config files; write its settings to ${py.replace(/\.py$/, '.json')}`);
    const given = k8sSpec(['install', '--config', py, '--prefix', join(root, 'q')], env);
    expect(given.status).toBe(1);
    expect(given.stderr.trim().split('\n')).toHaveLength(1);
    expect(given.stderr).toContain(`Invalid value "${py}" for config`);
    expect(given.stderr).toContain('gp does not run Python config files');
    expect(existsSync(join(root, 'q'))).toBe(false);
  });

  it('refuses an existing spec without --replace and swaps it with --replace', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    const kernels = join(prefix, 'share', 'jupyter', 'kernels');
    expect(k8sSpec(['install', '--prefix', prefix], env).status).toBe(0);
    const again = k8sSpec(['install', '--prefix', prefix, '--launch-timeout', '99'], env);
    expect(again.status).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/\[E .* K8sSpecInstaller\] A kernel specification exists at '.*k8s_python' and '--replace' has not been specified/);
    expect(JSON.parse(readFileSync(join(kernels, 'k8s_python', 'kernel.json'), 'utf8')).metadata.kernel_provisioner.config.launch_timeout).toBe(30);
    const replaced = k8sSpec(['install', '--prefix', prefix, '--launch-timeout', '99', '--replace'], env);
    expect(replaced.status).toBe(0);
    expect(JSON.parse(readFileSync(join(kernels, 'k8s_python', 'kernel.json'), 'utf8')).metadata.kernel_provisioner.config.launch_timeout).toBe(99);
    expect(readdirSync(kernels)).toEqual(['k8s_python']);
  });

  it.each([
    [['--kernel-name', 'bad*name'], /Invalid value "bad\*name" for --kernel-name \(from command-line flag --kernel-name\)/],
    [['--port-range', 'abc'], /Invalid value "abc" for --port-range \(from command-line flag --port-range\): expected LOW\.\.HIGH/],
    [['--port-range', '1..2'], /"1\.\.2" for --port-range/],
    [['--language', 'julia'], /"julia" for --language.*'Python', 'R', 'Scala'/],
    [['--spark-init-mode', 'sometimes'], /"sometimes" for --spark-init-mode/],
    [['--launch-timeout', '0'], /"0" for --launch-timeout.*greater than 0/],
    [['--log-level', 'LOUD'], /"LOUD" for --log-level/],
    [['--frobnicate'], /Unknown argument: frobnicate/],
    [['extra'], /Unknown argument: extra/],
    [['--crd'], /--crd.*combined with --spark/],
    [['--tensorflow', '--language', 'R'], /TensorFlow kernels are Python kernels/],
    [['--user', '--prefix', 'x'], /--prefix together with --user/],
    [['--config', '/nonexistent/c.yaml'], /"\/nonexistent\/c\.yaml" for config \(from command-line flag --config\).*no such file/],
    [['--K8sSpecInstaller.bogus=1'], /K8sSpecInstaller\.bogus/],
    [['--image-name', 'my image:1'], /"my image:1" for --image-name.*container image reference/],
    [['--spark', '--spark-home', 'spark'], /"spark" for --spark-home.*absolute path/],
    [['--prefix', '/dev/null'], /Could not install the kernel specification at '\/dev\/null\/share\/jupyter\/kernels\/k8s_python': '\/dev\/null' is not a directory\. .*choose another --prefix/],
    [['--unauthorized-users', '[root]'], /"\[root\]" for --unauthorized-users.*without whitespace, brackets or quotes/],
  ])('bad input %j: exits non-zero with one line and writes nothing', (args, message) => {
    const { root, env } = tempHome();
    const r = k8sSpec(['install', '--prefix', join(root, 'p'), ...args], env, root);
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(LOG_LINE);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(join(root, 'p'))).toBe(false);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('bad env values name the variable', () => {
    const { root, env } = tempHome();
    const r = k8sSpec(['install', '--prefix', join(root, 'p')], { ...env, GP_PORT_RANGE: '5..6' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/"5\.\.6" for port-range \(from environment variable GP_PORT_RANGE\)/);
    expect(existsSync(join(root, 'p'))).toBe(false);
    // A bracketed list would otherwise make "[root" a user name and let root launch kernels.
    const bracketed = k8sSpec(['install', '--prefix', join(root, 'p')], { ...env, GP_UNAUTHORIZED_USERS: "['root', 'admin']" });
    expect(bracketed.status).not.toBe(0);
    expect(bracketed.stderr).toMatch(/for unauthorized-users \(from environment variable GP_UNAUTHORIZED_USERS\)/);
    expect(existsSync(join(root, 'p'))).toBe(false);
  });

  it('a destination the user may not write is one actionable error line, before anything is logged or written', () => {
    const { root, env } = tempHome();
    const locked = join(root, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(root, 0o755);
    // Root may write anywhere, so run as an unprivileged user (nobody) when the tests run as root.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [bin, 'install', '--prefix', locked], { env, encoding: 'utf8', cwd: '/', ...asUser });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[E .* K8sSpecInstaller\] Could not install the kernel specification at '.*locked\/share\/jupyter\/kernels\/k8s_python': no permission to write into '.*locked' \(EACCES\)\. Run as a user who may write there .*--user or --prefix DIR\./);
    expect(readdirSync(locked)).toEqual([]);
  });

  it('a config file value JSON cannot print (a YAML alias loop) is still one error line, not a stack trace', () => {
    const { root, env } = tempHome();
    const config = join(root, 'loop.yaml');
    writeFileSync(config, 'port_range: &a [*a]\n');
    const r = k8sSpec(['install', '--prefix', join(root, 'p'), '--config', config], env);
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Invalid value \[a self-referencing list\] for port_range \(from config file .*loop\.yaml\)/);
    expect(existsSync(join(root, 'p'))).toBe(false);
  });

  it('GP_MIN_PORT_RANGE_SIZE sets the smallest port range install accepts', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    const small = k8sSpec(['install', '--prefix', prefix, '--port-range', '40000..40100'], env);
    expect(small.status).not.toBe(0);
    expect(small.stderr).toMatch(/HIGH - LOW >= 1000/);
    const ok = k8sSpec(['install', '--prefix', prefix, '--port-range', '40000..40100'], { ...env, GP_MIN_PORT_RANGE_SIZE: '100' });
    expect(ok.status).toBe(0);
    const kernelJson = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'kernel.json'), 'utf8'));
    expect(kernelJson.metadata.kernel_provisioner.config.port_range).toBe('40000..40100');
  });

  it('prints help to stdout and exits 0; no subcommand exits 1', () => {
    const { env } = tempHome();
    const help = k8sSpec(['install', '--help'], env);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Creates a Jupyter kernel specification/);
    expect(help.stdout).toContain('--port-range=<LOW..HIGH>');
    const all = k8sSpec(['install', '--help-all'], env);
    expect(all.stdout).toContain('K8sSpecInstaller(BaseSpecSparkApp) options');
    const none = k8sSpec([], env);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("No subcommand specified. Must specify one of: ['install', 'rbac', 'image-bootstrap']");
    const unknown = k8sSpec(['frob'], env);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown subcommand 'frob'/);
    const version = k8sSpec(['--version'], env);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('run.sh of --spark specs', () => {
  it('renders the pod template with the launcher and execs spark-submit with its options', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    expect(k8sSpec(['install', '--spark', '--prefix', prefix, '--extra-spark-opts', '--conf x.y=1'], env).status).toBe(0);
    const dir = join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python_spark');
    const json = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
    // A fake launcher (records its args, writes the pod template and spark opts) and a fake spark-submit.
    writeFileSync(
      join(dir, 'scripts', 'launch_kubernetes.mjs'),
      `import { writeFileSync } from 'node:fs';
const a = process.argv.slice(2);
writeFileSync(process.env.FAKE_LAUNCHER_ARGS, JSON.stringify(a));
const tpl = a[a.indexOf('--pod-template') + 1];
writeFileSync(tpl, 'kind: Pod\\n');
writeFileSync(a[a.indexOf('--spark-opts-out') + 1], '--conf spark.kubernetes.driver.podTemplateFile=' + tpl + ' --conf spark.kubernetes.executor.podTemplateFile=' + tpl + ' --conf spark.driver.cores=2');
`,
    );
    const sparkHome = join(root, 'spark');
    mkdirSync(join(sparkHome, 'bin'), { recursive: true });
    writeFileSync(join(sparkHome, 'bin', 'spark-submit'), '#!/usr/bin/env bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$FAKE_SUBMIT_ARGS"\n');
    chmodSync(join(sparkHome, 'bin', 'spark-submit'), 0o755);
    const kernelArgs = json.argv.slice(1).map((a: string) =>
      ({ '{kernel_id}': 'k-1', '{response_address}': '10.0.0.1:8877', '{public_key}': 'PUBKEY', '{port_range}': '0..0' })[a] ?? a,
    );
    const substitute = (v: string) => v.replace(/\$\{(\w+)\}/g, (m, n: string) => ({ KERNEL_ID: 'k-1', KERNEL_USERNAME: 'alice', KERNEL_NAMESPACE: 'ns1' })[n] ?? m);
    const runEnv: NodeJS.ProcessEnv = {
      ...env,
      ...Object.fromEntries(Object.entries(json.env as Record<string, string>).map(([k, v]) => [k, substitute(v)])),
      SPARK_HOME: sparkHome,
      KERNEL_ID: 'k-1',
      KERNEL_USERNAME: 'alice',
      KERNEL_IMAGE: 'img:1',
      KERNEL_EXECUTOR_IMAGE: 'img:2',
      KERNEL_SERVICE_ACCOUNT_NAME: 'sa',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      LAUNCH_OPTS: '--extra-launch "two words"',
      GP_POD_TEMPLATE_DIR: root,
      FAKE_LAUNCHER_ARGS: join(root, 'launcher-args.json'),
      FAKE_SUBMIT_ARGS: join(root, 'submit-args.txt'),
    };
    const r = spawnSync(json.argv[0], kernelArgs, { env: runEnv, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Starting IPython kernel for Spark in Kubernetes mode on behalf of user alice');
    const tpl = join(root, 'kpt_k-1', 'pod.yaml');
    expect(JSON.parse(readFileSync(join(root, 'launcher-args.json'), 'utf8'))).toEqual([
      ...kernelArgs, '--pod-template', tpl, '--spark-opts-out', join(root, 'kpt_k-1', 'spark-opts'),
    ]);
    const submit = readFileSync(join(root, 'submit-args.txt'), 'utf8').trimEnd().split('\n');
    expect(submit.slice(0, 6)).toEqual(['--master', 'k8s://https://10.96.0.1:443', '--deploy-mode', 'cluster', '--name', 'alice-k-1']);
    expect(submit).toContain('spark.kubernetes.namespace=ns1');
    expect(submit).toContain('spark.kubernetes.driver.container.image=img:1');
    expect(submit).toContain('spark.kubernetes.executor.container.image=img:2');
    expect(submit).toContain('x.y=1');
    const launcherAt = submit.indexOf('local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py');
    expect(launcherAt).toBeGreaterThan(0);
    expect(submit.slice(launcherAt - 6, launcherAt)).toEqual([
      '--conf', `spark.kubernetes.driver.podTemplateFile=${tpl}`, '--conf', `spark.kubernetes.executor.podTemplateFile=${tpl}`, '--conf', 'spark.driver.cores=2',
    ]);
    expect(submit.slice(launcherAt + 1)).toEqual(['--extra-launch', 'two words', ...kernelArgs]);
  });

  it('with the real launcher bundle: the rendered pod becomes the driver/executor pod template', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    expect(k8sSpec(['install', '--spark', '--prefix', prefix], env).status).toBe(0);
    const dir = join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python_spark');
    const sparkHome = join(root, 'spark');
    mkdirSync(join(sparkHome, 'bin'), { recursive: true });
    // run.sh removes the pod-template directory when it ends: the fake spark-submit keeps a copy.
    writeFileSync(join(sparkHome, 'bin', 'spark-submit'), '#!/usr/bin/env bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$FAKE_SUBMIT_ARGS"\ncp -r "$GP_POD_TEMPLATE_DIR/kpt_$KERNEL_ID" "$FAKE_SUBMIT_ARGS.kpt"\n');
    chmodSync(join(sparkHome, 'bin', 'spark-submit'), 0o755);
    const kernelId = '8e1c2d3a-0000-4000-8000-000000000001';
    const r = spawnSync(
      join(dir, 'bin', 'run.sh'),
      ['--kernel-id', kernelId, '--response-address', '10.0.0.1:8877', '--public-key', 'AAAA', '--spark-context-initialization-mode', 'lazy', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel'],
      {
        env: {
          ...env,
          PATH: `${dirname(process.execPath)}:${env.PATH}`,
          SPARK_HOME: sparkHome,
          SPARK_OPTS: '--master k8s://https://h:1 --conf spark.kubernetes.namespace=${KERNEL_NAMESPACE}',
          KERNEL_ID: kernelId,
          KERNEL_LANGUAGE: 'python',
          KERNEL_USERNAME: 'alice',
          KERNEL_NAMESPACE: 'default',
          KERNEL_IMAGE: 'img:1',
          KERNEL_EXECUTOR_IMAGE: 'img:2',
          KERNEL_CPUS: '2',
          GP_POD_TEMPLATE_DIR: root,
          FAKE_SUBMIT_ARGS: join(root, 'submit-args.txt'),
        },
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const tpl = join(root, `kpt_${kernelId}`, 'pod.yaml');
    expect(existsSync(join(root, `kpt_${kernelId}`))).toBe(false);
    const pod = readFileSync(join(root, 'submit-args.txt.kpt', 'pod.yaml'), 'utf8');
    expect(pod).toMatch(/kind: Pod/);
    expect(pod).toContain('img:1');
    // The spec's labels reach the driver and executor pods through the template (kernel.json's SPARK_OPTS sets
    // no competing `app` label).
    expect(pod).toMatch(/\n\s+app: "?gateway-provisioners"?\n/);
    expect(pod).toMatch(/\n\s+kernel_id: "?8e1c2d3a-0000-4000-8000-000000000001"?\n/);
    const sparkOpts = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')).env.SPARK_OPTS as string;
    expect(sparkOpts).not.toMatch(/label\.app=/);
    const submit = readFileSync(join(root, 'submit-args.txt'), 'utf8').trimEnd().split('\n');
    expect(submit).toContain('spark.kubernetes.namespace=default');
    expect(submit).toContain(`spark.kubernetes.driver.podTemplateFile=${tpl}`);
    expect(submit).toContain(`spark.kubernetes.executor.podTemplateFile=${tpl}`);
    expect(submit).toContain('spark.driver.cores=2');
    expect(submit.slice(submit.indexOf('local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py') + 1)).toEqual([
      '--kernel-id', kernelId, '--response-address', '10.0.0.1:8877', '--public-key', 'AAAA', '--spark-context-initialization-mode', 'lazy', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel',
    ]);
  });

  it('Scala: finds the Toree jars and passes Toree options', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    expect(k8sSpec(['install', '--spark', '--language', 'Scala', '--prefix', prefix], env).status).toBe(0);
    const dir = join(prefix, 'share', 'jupyter', 'kernels', 'k8s_scala_spark');
    const json = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
    writeFileSync(
      join(dir, 'scripts', 'launch_kubernetes.mjs'),
      `import { writeFileSync } from 'node:fs';
const a = process.argv.slice(2);
writeFileSync(a[a.indexOf('--pod-template') + 1], 'kind: Pod\\n');
writeFileSync(a[a.indexOf('--spark-opts-out') + 1], '--conf spark.kubernetes.driver.podTemplateFile=/t/pod.yaml');
`,
    );
    const launchers = join(root, 'launchers');
    mkdirSync(join(launchers, 'scala', 'lib'), { recursive: true });
    writeFileSync(join(launchers, 'scala', 'lib', 'toree-assembly-0.5.0.jar'), '');
    writeFileSync(join(launchers, 'scala', 'lib', 'toree-launcher_2.12-3.2.3.jar'), '');
    const sparkHome = join(root, 'spark');
    mkdirSync(join(sparkHome, 'bin'), { recursive: true });
    writeFileSync(join(sparkHome, 'bin', 'spark-submit'), '#!/usr/bin/env bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$FAKE_SUBMIT_ARGS"\n');
    chmodSync(join(sparkHome, 'bin', 'spark-submit'), 0o755);
    const r = spawnSync(json.argv[0], ['--kernel-id', 'k-2', '--port-range', '0..0'], {
      env: {
        ...env,
        ...json.env,
        SPARK_HOME: sparkHome,
        KERNEL_ID: 'k-2',
        KERNEL_LAUNCHERS_DIR: launchers,
        GP_POD_TEMPLATE_DIR: root,
        FAKE_SUBMIT_ARGS: join(root, 'submit-args.txt'),
      },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Starting Toree kernel for Spark in Kubernetes mode');
    const submit = readFileSync(join(root, 'submit-args.txt'), 'utf8').trimEnd().split('\n');
    expect(submit).toContain('--driver-memory');
    const jars = submit.indexOf('--jars');
    expect(submit.slice(jars - 2)).toEqual([
      '--conf', 'spark.kubernetes.driver.podTemplateFile=/t/pod.yaml',
      '--jars', `local://${launchers}/scala/lib/toree-assembly-0.5.0.jar`,
      '--class', 'launcher.ToreeLauncher',
      `local://${launchers}/scala/lib/toree-launcher_2.12-3.2.3.jar`,
      '--alternate-sigint', 'USR2',
      '--kernel-id', 'k-2', '--port-range', '0..0',
    ]);
  });

  it('fails clearly without SPARK_HOME or KERNEL_ID', () => {
    const { root, env } = tempHome();
    expect(k8sSpec(['install', '--spark', '--language', 'R', '--prefix', join(root, 'p')], env).status).toBe(0);
    const run = join(root, 'p', 'share', 'jupyter', 'kernels', 'k8s_r_spark', 'bin', 'run.sh');
    const r = spawnSync(run, [], { env: { PATH: env.PATH, KERNEL_ID: 'x' }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('SPARK_HOME must be set');
    const r2 = spawnSync(run, [], { env: { PATH: env.PATH, SPARK_HOME: '/s' }, encoding: 'utf8' });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('KERNEL_ID must be set');
  });
});

describe('real Jupyter reads the installed specs', () => {
  it('jupyter kernelspec list --json lists every variant with its provisioner metadata', () => {
    const { root, env } = tempHome();
    const prefix = join(root, 'p');
    const variants = [[], ['--language', 'R'], ['--language', 'Scala'], ['--spark'], ['--spark', '--language', 'Scala'], ['--crd', '--spark'], ['--tensorflow'], ['--kernel-name', 'My Kernel', '--port-range', '40000..41000', '--authorized-users', 'bob']];
    for (const v of variants) expect(k8sSpec(['install', '--prefix', prefix, ...v], env).status).toBe(0);
    const jupyterEnv = { ...env, PATH: `${testPythonBin()}:${env.PATH}`, JUPYTER_PATH: join(prefix, 'share', 'jupyter') };
    const out = execFileSync(join(testPythonBin(), 'jupyter'), ['kernelspec', 'list', '--json'], { env: jupyterEnv, encoding: 'utf8' });
    const specs = JSON.parse(out).kernelspecs as Record<string, { resource_dir: string; spec: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ours = Object.keys(specs).filter((k) => specs[k]!.resource_dir.startsWith(prefix)).sort();
    expect(ours).toEqual(['k8s_python', 'k8s_python_spark', 'k8s_python_spark_operator', 'k8s_python_tf', 'k8s_r', 'k8s_scala', 'k8s_scala_spark', 'my_kernel']);
    for (const name of ours) {
      const installed = JSON.parse(readFileSync(join(specs[name]!.resource_dir, 'kernel.json'), 'utf8'));
      expect(specs[name]!.spec.metadata.kernel_provisioner).toEqual(installed.metadata.kernel_provisioner);
      expect(specs[name]!.spec.argv).toEqual(installed.argv);
      expect(specs[name]!.spec.display_name).toBe(installed.display_name);
    }
    expect(specs.my_kernel!.spec.metadata.kernel_provisioner.config).toEqual({
      image_name: 'elyra/kernel-py:3.2.3', authorized_users: ['bob'], port_range: '40000..41000', launch_timeout: 30,
    });
  });

  it('`jupyter k8s-spec install` dispatches to the jupyter-k8s-spec bin on PATH', () => {
    const { root, env } = tempHome();
    const binDir = join(root, 'bin');
    mkdirSync(binDir);
    symlinkSync(bin, join(binDir, 'jupyter-k8s-spec'));
    // jupyter puts its own directory first on PATH; a `jupyter` entry point in our bin dir makes that
    // directory (where jupyter-k8s-spec is gp's) the first one, as it is when gp and Jupyter share a bin dir.
    writeFileSync(join(binDir, 'jupyter'), `#!${join(testPythonBin(), 'python')}\nfrom jupyter_core.command import main\nmain()\n`);
    chmodSync(join(binDir, 'jupyter'), 0o755);
    const prefix = join(root, 'p');
    const r = spawnSync(join(binDir, 'jupyter'), ['k8s-spec', 'install', '--prefix', prefix], {
      env: { ...env, PATH: `${binDir}:${dirname(process.execPath)}:${env.PATH}` },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'kernel.json'), 'utf8'));
    expect(json.argv[0]).toBe('node');
  });
});
