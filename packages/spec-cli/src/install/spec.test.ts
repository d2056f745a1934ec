import { resolveConfig } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { installOptions } from './options.js';
import { kernelJsonText, planKernelSpec, sparkOpts } from './spec.js';

function plan(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  const f = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, { value: v, flag: k.replace(/_/g, '-') }]));
  const r = resolveConfig(installOptions, { flags: f, env });
  return planKernelSpec(r.values, r.sources);
}

const D = '/k/dir';

describe('decision table', () => {
  it('default: k8s_python, Kubernetes Python, exact kernel.json', () => {
    const p = plan({});
    expect(p.kernelName).toBe('k8s_python');
    expect(kernelJsonText(p.kernelJson(D))).toBe(
      JSON.stringify(
        {
          argv: [
            'node',
            `${D}/scripts/launch_kubernetes.mjs`,
            '--kernel-id',
            '{kernel_id}',
            '--port-range',
            '{port_range}',
            '--response-address',
            '{response_address}',
            '--public-key',
            '{public_key}',
            '--transport-encryption',
            '{transport_encryption}',
            '--kernel-class-name',
            'ipykernel.ipkernel.IPythonKernel',
          ],
          env: {},
          display_name: 'Kubernetes Python',
          language: 'python',
          interrupt_mode: 'signal',
          metadata: {
            supported_encryption: ['curve'],
            debugger: true,
            kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: 'elyra/kernel-py:3.2.3', launch_timeout: 30 } },
          },
        },
        null,
        2,
      ) + '\n',
    );
    expect(p.files.map((f) => f.path).sort()).toEqual(['logo-64x64.png', 'scripts/kernel-pod.yaml.j2', 'scripts/launch_kubernetes.mjs']);
  });

  it.each([
    ['r', 'k8s_r', 'Kubernetes R', 'R', 'elyra/kernel-r:3.2.3'],
    ['SCALA', 'k8s_scala', 'Kubernetes Scala', 'scala', 'elyra/kernel-scala:3.2.3'],
  ])('--language %s', (lang, name, display, jsonLang, image) => {
    const p = plan({ language: lang });
    const j = p.kernelJson(D);
    expect([p.kernelName, p.displayName, j.language]).toEqual([name, display, jsonLang]);
    expect(j.argv).not.toContain('--kernel-class-name');
    expect(j.argv).toContain('--port-range');
    // IRkernel and Toree cannot be CurveZMQ servers: these kernelspecs do not claim it (as the reference's).
    expect(j.argv).not.toContain('--transport-encryption');
    expect(j.metadata.supported_encryption).toBeUndefined();
    expect(j.metadata.debugger).toBe(true);
    expect(j.metadata.kernel_provisioner.config.image_name).toBe(image);
  });

  it('--spark (Python): run.sh argv without --port-range, spark env, executor image', () => {
    const p = plan({ spark: true, extra_spark_opts: '--conf a=b' });
    const j = p.kernelJson(D);
    expect(p.kernelName).toBe('k8s_python_spark');
    expect(p.displayName).toBe('Kubernetes Python (with Spark)');
    expect(j.argv).toEqual([
      `${D}/bin/run.sh`,
      '--kernel-id',
      '{kernel_id}',
      '--response-address',
      '{response_address}',
      '--public-key',
      '{public_key}',
      '--spark-context-initialization-mode',
      'lazy',
      '--kernel-class-name',
      'ipykernel.ipkernel.IPythonKernel',
    ]);
    expect(Object.keys(j.env)).toEqual(['SPARK_HOME', 'SPARK_OPTS', 'LAUNCH_OPTS']);
    expect(j.env.SPARK_HOME).toBe('/opt/spark');
    expect(j.env.SPARK_OPTS).toMatch(/^--master k8s:\/\/https:\/\/\$\{KUBERNETES_SERVICE_HOST\}:\$\{KUBERNETES_SERVICE_PORT\} --deploy-mode cluster --name \$\{KERNEL_USERNAME\}-\$\{KERNEL_ID\} /);
    expect(j.env.SPARK_OPTS).toMatch(/--conf spark\.kubernetes\.pyspark\.pythonVersion=3 --conf a=b \$\{KERNEL_EXTRA_SPARK_OPTS\}$/);
    // The spec's labels: kernel_id and component (kernel/worker) here; `app` comes from the pod template and
    // must not be overridden (the reference's app=kubernetes-kernel-provider would).
    expect(j.env.SPARK_OPTS).toContain('--conf spark.kubernetes.driver.label.kernel_id=${KERNEL_ID} --conf spark.kubernetes.driver.label.component=kernel');
    expect(j.env.SPARK_OPTS).toContain('--conf spark.kubernetes.executor.label.kernel_id=${KERNEL_ID} --conf spark.kubernetes.executor.label.component=worker');
    expect(j.env.SPARK_OPTS).not.toMatch(/label\.app=/);
    expect(j.metadata.debugger).toBe(true);
    expect(j.metadata.kernel_provisioner).toEqual({
      provisioner_name: 'kubernetes-provisioner',
      config: { image_name: 'elyra/kernel-spark-py:3.2.3', executor_image_name: 'elyra/kernel-spark-py:3.2.3', launch_timeout: 30 },
    });
    expect(p.files.find((f) => f.path === 'bin/run.sh')).toMatchObject({ mode: 0o755 });
  });

  it('--spark R and Scala: port range, no debugger, Toree env', () => {
    const r = plan({ spark: true, language: 'R' });
    expect(r.kernelName).toBe('k8s_r_spark');
    expect(r.kernelJson(D).argv).toContain('--port-range');
    expect(r.kernelJson(D).argv).not.toContain('--kernel-class-name');
    expect(r.kernelJson(D).metadata.debugger).toBeUndefined();
    expect(r.kernelJson(D).metadata.kernel_provisioner.config.image_name).toBe('elyra/kernel-spark-r:3.2.3');
    const s = plan({ spark: true, language: 'scala', spark_home: '/spark' });
    const j = s.kernelJson(D);
    expect(s.displayName).toBe('Kubernetes Scala (with Spark)');
    expect(Object.keys(j.env)).toEqual(['SPARK_HOME', '__TOREE_SPARK_OPTS__', '__TOREE_OPTS__', 'LAUNCH_OPTS', 'DEFAULT_INTERPRETER']);
    expect(j.env.SPARK_HOME).toBe('/spark');
    expect(j.env.__TOREE_SPARK_OPTS__).toContain('--conf spark.kubernetes.namespace=${KERNEL_NAMESPACE} --driver-memory 2G --conf');
    expect(j.env.__TOREE_OPTS__).toBe('--alternate-sigint USR2');
    expect(j.metadata.kernel_provisioner.config.image_name).toBe('elyra/kernel-scala:3.2.3');
  });

  it('--crd --spark: Spark Operator spec', () => {
    const p = plan({ crd: true, spark: true, spark_init_mode: 'EAGER' });
    const j = p.kernelJson(D);
    expect([p.kernelName, p.displayName]).toEqual(['k8s_python_spark_operator', 'Kubernetes Spark Operator']);
    expect(j.argv).toEqual([
      'node',
      `${D}/scripts/launch_custom_resource.mjs`,
      '--kernel-id',
      '{kernel_id}',
      '--port-range',
      '{port_range}',
      '--response-address',
      '{response_address}',
      '--public-key',
      '{public_key}',
      '--transport-encryption',
      '{transport_encryption}',
      '--spark-context-initialization-mode',
      'eager',
      '--kernel-class-name',
      'ipykernel.ipkernel.IPythonKernel',
    ]);
    expect(j.env).toEqual({});
    expect(j.metadata.supported_encryption).toEqual(['curve']);
    expect(j.metadata.kernel_provisioner.provisioner_name).toBe('spark-operator-provisioner');
    expect(j.metadata.kernel_provisioner.config).toEqual({
      image_name: 'elyra/kernel-spark-py:3.2.3',
      executor_image_name: 'elyra/kernel-spark-py:3.2.3',
      launch_timeout: 30,
    });
    expect(p.files.map((f) => f.path).sort()).toEqual(['logo-64x64.png', 'scripts/launch_custom_resource.mjs', 'scripts/sparkoperator.k8s.io-v1beta2.yaml.j2']);
  });

  it('--crd --spark --language R installs Python with Python resources and a warning', () => {
    const p = plan({ crd: true, spark: true, language: 'R' });
    expect(p.language).toBe('Python');
    expect(p.kernelJson(D).language).toBe('python');
    expect(p.files.find((f) => f.path === 'logo-64x64.png')).toMatchObject({ from: { kind: 'logo', name: 'python' } });
    expect(p.warnings.join()).toMatch(/only Python/);
  });

  it('--crd alone and bad --tensorflow combinations are clean errors', () => {
    expect(() => plan({ crd: true })).toThrow(/--crd.*expected to be combined with --spark/);
    expect(() => plan({ tensorflow: true, spark: true })).toThrow(/--tensorflow/);
    expect(() => plan({ tensorflow: true, language: 'R' })).toThrow(/TensorFlow kernels are Python kernels/);
  });

  it('--tensorflow is a real TensorFlow spec', () => {
    const p = plan({ tensorflow: true });
    expect([p.kernelName, p.displayName]).toEqual(['k8s_python_tf', 'Kubernetes Python (with TensorFlow)']);
    expect(p.kernelJson(D).metadata.kernel_provisioner.config.image_name).toBe('elyra/kernel-tf-py:3.2.3');
    expect(p.files.find((f) => f.path === 'logo-64x64.png')).toMatchObject({ from: { kind: 'logo', name: 'tensorflow' } });
  });

  it('optional config keys only when they differ from defaults; env applies at install', () => {
    const p = plan(
      { authorized_users: ['bob', 'al'], port_range: '40000..41000', launch_timeout: '60' },
      { GP_UNAUTHORIZED_USERS: 'root,eve', GP_IMAGE_NAME: 'me/img:1' },
    );
    expect(p.kernelJson(D).metadata.kernel_provisioner.config).toEqual({
      image_name: 'me/img:1',
      authorized_users: ['bob', 'al'],
      unauthorized_users: ['root', 'eve'],
      port_range: '40000..41000',
      launch_timeout: 60,
    });
    expect(Object.keys(plan({ unauthorized_users: 'root' }).kernelJson(D).metadata.kernel_provisioner.config)).toEqual(['image_name', 'launch_timeout']);
  });

  it('user names and kernel names: normalisation and errors', () => {
    const p = plan({ kernel_name: 'My Kernel', display_name: 'Mine', image_name: 'x/y:1', executor_image_name: 'x/z:1', spark: true });
    expect(p.kernelName).toBe('my_kernel');
    expect(p.displayName).toBe('Mine');
    expect(p.kernelJson(D).metadata.kernel_provisioner.config.executor_image_name).toBe('x/z:1');
    expect(() => plan({ kernel_name: 'bad*name' })).toThrow(/"bad\*name" for --kernel-name \(from command-line flag --kernel-name\)/);
  });

  it('--spark needs a SPARK_HOME that bin/run.sh can use: an absolute path or a ${VAR}', () => {
    expect(() => plan({ spark: true, spark_home: '' })).toThrow(/Invalid value "" for --spark-home \(from command-line flag --spark-home\): expected an absolute path/);
    expect(() => plan({ spark: true }, { SPARK_HOME: 'spark' })).toThrow(/"spark" for --spark-home \(from environment variable SPARK_HOME\)/);
    expect(plan({ spark: true, spark_home: '/usr/lib/spark' }).kernelJson(D).env.SPARK_HOME).toBe('/usr/lib/spark');
    expect(plan({ spark: true, spark_home: '${HOST_SPARK_HOME}' }).kernelJson(D).env.SPARK_HOME).toBe('${HOST_SPARK_HOME}');
    // Specs without run.sh do not carry SPARK_HOME, so a host's odd SPARK_HOME does not block them.
    expect(plan({}, { SPARK_HOME: 'spark' }).kernelName).toBe('k8s_python');
    expect(plan({ spark: true, crd: true, spark_home: '' }).kernelName).toBe('k8s_python_spark_operator');
  });

  it('refuses image names that cannot be pulled, at install rather than at launch', () => {
    expect(() => plan({ image_name: 'foo bar' })).toThrow(/"foo bar" for --image-name \(from command-line flag --image-name\): expected a container image reference/);
    expect(() => plan({ spark: true }, { GP_EXECUTOR_IMAGE_NAME: 'x"y' })).toThrow(/for executor-image-name \(from environment variable GP_EXECUTOR_IMAGE_NAME\)/);
  });

  it('warns about options that do not apply', () => {
    expect(plan({ extra_spark_opts: '--x' }).warnings.join()).toMatch(/extra-spark-opts is ignored/);
    expect(plan({ language: 'R', ipykernel_subclass_name: 'a.B' }).warnings.join()).toMatch(/subclass-name is ignored/);
    expect(plan({}).warnings).toEqual([]);
  });

  it('sparkOpts leaves ${VAR}s verbatim', () => {
    expect(sparkOpts('R', '')).not.toContain('pythonVersion');
    expect(sparkOpts('R', '')).toMatch(/waitAppCompletion=false  \$\{KERNEL_EXTRA_SPARK_OPTS\}$/);
  });
});
