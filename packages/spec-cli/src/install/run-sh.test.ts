// bin/run.sh of --spark specs under attack: a client's Spark options are never eval'ed or globbed, a
// username with a space stays one argument, and the pod-template directory goes on every exit path.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScript } from './spec.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A spec dir with run.sh, a fake launch_kubernetes.mjs and a fake spark-submit recording its arguments. */
function setup(submitExit = 0, launcherExit = 0) {
  const root = mkdtempSync(join(tmpdir(), 'gp-runsh-'));
  roots.push(root);
  const spec = join(root, 'spec');
  mkdirSync(join(spec, 'bin'), { recursive: true });
  mkdirSync(join(spec, 'scripts'));
  writeFileSync(join(spec, 'bin', 'run.sh'), runScript('Python'), { mode: 0o755 });
  writeFileSync(
    join(spec, 'scripts', 'launch_kubernetes.mjs'),
    `import { writeFileSync } from 'node:fs';
const a = process.argv.slice(2);
writeFileSync(a[a.indexOf('--pod-template') + 1], 'kind: Pod\\n');
writeFileSync(a[a.indexOf('--spark-opts-out') + 1], '--conf spark.kubernetes.driver.podTemplateFile=/t/pod.yaml');
process.exit(${launcherExit});
`,
  );
  const sparkHome = join(root, 'spark');
  mkdirSync(join(sparkHome, 'bin'), { recursive: true });
  writeFileSync(join(sparkHome, 'bin', 'spark-submit'), `#!/usr/bin/env bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$FAKE_SUBMIT_ARGS"\nexit ${submitExit}\n`);
  chmodSync(join(sparkHome, 'bin', 'spark-submit'), 0o755);
  // Files a glob in the working directory would expand to.
  const cwd = join(root, 'cwd');
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'host-secret.txt'), '');
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    SPARK_HOME: sparkHome,
    KERNEL_ID: 'k-1',
    GP_POD_TEMPLATE_DIR: root,
    FAKE_SUBMIT_ARGS: join(root, 'submit-args.txt'),
  };
  const run = (extra: NodeJS.ProcessEnv) => {
    const r = spawnSync(join(spec, 'bin', 'run.sh'), ['--kernel-id', 'k-1'], { env: { ...env, ...extra }, cwd, encoding: 'utf8' });
    const args = existsSync(env.FAKE_SUBMIT_ARGS!) ? readFileSync(env.FAKE_SUBMIT_ARGS!, 'utf8').trimEnd().split('\n') : [];
    return { r, args, kptLeft: existsSync(join(root, 'kpt_k-1')) };
  };
  return { run };
}

describe('run.sh of --spark specs under attack', () => {
  it("passes a gp host's argument list as is: no eval, no glob, a username with a space is one argument", () => {
    const { run } = setup();
    const list = ['--name', 'john doe-k-1', '--conf', 'spark.executor.instances=*', '--conf', 'spark.x=$(touch /tmp/gp-pwned)'];
    const { r, args } = run({ GP_SPARK_SUBMIT_ARGS: list.join('\n'), SPARK_OPTS: 'ignored when the list is there' });
    expect(r.status, r.stderr).toBe(0);
    expect(args.slice(0, list.length)).toEqual(list);
    expect(args).toContain('spark.kubernetes.driver.podTemplateFile=/t/pod.yaml');
  });

  it("on another host: the admin's SPARK_OPTS as the reference reads them, the unchecked client options dropped, nothing globbed", () => {
    const { run } = setup();
    const { r, args } = run({
      SPARK_OPTS: '--master k8s://h --conf spark.a=* ${KERNEL_EXTRA_SPARK_OPTS}',
      KERNEL_EXTRA_SPARK_OPTS: '--conf spark.kubernetes.driver.container.image=evil:1 *',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('Ignoring KERNEL_EXTRA_SPARK_OPTS');
    expect(args).toEqual(['--master', 'k8s://h', '--conf', 'spark.a=*', '--conf', 'spark.kubernetes.driver.podTemplateFile=/t/pod.yaml', 'local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py', '--kernel-id', 'k-1']);
  });

  it('removes /tmp/kpt_<id> when spark-submit fails, when the launcher fails, and when it succeeds', () => {
    for (const [submitExit, launcherExit] of [[1, 0], [0, 3], [0, 0]] as const) {
      const { run } = setup(submitExit, launcherExit);
      const { r, kptLeft } = run({ GP_SPARK_SUBMIT_ARGS: '--master\nk8s://h' });
      expect(r.status).toBe(submitExit || launcherExit);
      expect(kptLeft).toBe(false);
    }
  });
});
