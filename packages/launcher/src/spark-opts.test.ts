import { AuthorizationError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { checkClientSparkOpts, SparkOptionsError, sparkSubmitArgs, splitShellWords } from './spark-opts.js';

describe('splitShellWords', () => {
  it('splits as a POSIX shell: quotes, escapes, empty quoted words; no globbing', () => {
    expect(splitShellWords(`a 'b c' "d \\"e\\"" f\\ g '' * $HOME`)).toEqual(['a', 'b c', 'd "e"', 'f g', '', '*', '$HOME']);
  });
  it('expands ${VAR}/$VAR inside the word, without splitting; unknown and empty unquoted expansions vanish', () => {
    const env: Record<string, string> = { U: 'john doe', ID: 'k1', E: '' };
    expect(splitShellWords('--name ${U}-${ID} $E "x$E" $NOPE', { expand: (n) => env[n] ?? '' })).toEqual(['--name', 'john doe-k1', 'x']);
  });
  it('refuses command substitution and unterminated quotes', () => {
    expect(() => splitShellWords('a $(id)', { expand: () => '' })).toThrow(SparkOptionsError);
    expect(() => splitShellWords('a `id`', { expand: () => '' })).toThrow(/command substitution/);
    expect(() => splitShellWords("a 'b")).toThrow(/single quote is not closed/);
  });
});

describe('checkClientSparkOpts', () => {
  it('takes --conf of ordinary settings and resource options', () => {
    expect(checkClientSparkOpts('--conf spark.executor.instances=2 --conf=spark.sql.shuffle.partitions=8 --executor-memory 2g --conf spark.kubernetes.executor.request.cores=1')).toEqual([
      '--conf', 'spark.executor.instances=2', '--conf=spark.sql.shuffle.partitions=8', '--executor-memory', '2g', '--conf', 'spark.kubernetes.executor.request.cores=1',
    ]);
  });
  it('refuses with a 403 naming every admin-owned setting: images, service account, volumes, pod templates, namespace, files, master', () => {
    const attack = [
      '--conf spark.kubernetes.driver.container.image=evil:1',
      '--conf spark.kubernetes.authenticate.driver.serviceAccountName=cluster-admin',
      '--conf spark.kubernetes.driver.volumes.hostPath.root.mount.path=/host',
      '--conf spark.kubernetes.driver.volumes.hostPath.root.options.path=/',
      '--conf spark.kubernetes.driver.podTemplateFile=/etc/shadow',
      '--conf spark.kubernetes.namespace=kube-system',
      '--conf spark.kubernetes.driver.label.kernel_id=other',
      '--conf spark.master=k8s://https://elsewhere',
      '--jars /etc/gp/secret.jar',
      '--proxy-user root',
    ].join(' ');
    let error: unknown;
    try {
      checkClientSparkOpts(attack);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(error).toMatchObject({ httpStatus: 403, code: 'GP_SPARK_OPTION_NOT_ALLOWED' });
    expect((error as AuthorizationError).details.refused).toEqual([
      'spark.kubernetes.driver.container.image',
      'spark.kubernetes.authenticate.driver.serviceAccountName',
      'spark.kubernetes.driver.volumes.hostPath.root.mount.path',
      'spark.kubernetes.driver.volumes.hostPath.root.options.path',
      'spark.kubernetes.driver.podTemplateFile',
      'spark.kubernetes.namespace',
      'spark.kubernetes.driver.label.kernel_id',
      'spark.master',
      '--jars',
      '/etc/gp/secret.jar',
      '--proxy-user',
      'root',
    ]);
    expect((error as Error).message).toContain('spark.kubernetes.driver.container.image');
  });
  it('refuses a line break inside an option (run.sh takes one argument per line)', () => {
    expect(() => checkClientSparkOpts("--conf 'spark.a=1\n--conf'")).toThrow(SparkOptionsError);
  });
});

describe('sparkSubmitArgs', () => {
  const admin = '--master k8s://https://${KUBERNETES_SERVICE_HOST}:443 --name ${KERNEL_USERNAME}-${KERNEL_ID} --conf spark.kubernetes.driver.container.image=${KERNEL_IMAGE} ${KERNEL_EXTRA_SPARK_OPTS}';
  it("expands the admin's options (a username with a space stays one argument) and splices the client's checked ones", () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KERNEL_USERNAME: 'john doe', KERNEL_ID: 'k1', KERNEL_IMAGE: 'img:1', KERNEL_EXTRA_SPARK_OPTS: '--conf spark.executor.instances=*' };
    expect(sparkSubmitArgs(admin, env)).toEqual([
      '--master', 'k8s://https://10.0.0.1:443', '--name', 'john doe-k1', '--conf', 'spark.kubernetes.driver.container.image=img:1', '--conf', 'spark.executor.instances=*',
    ]);
  });
  it("refuses a client's admin-owned setting", () => {
    expect(() => sparkSubmitArgs(admin, { KERNEL_EXTRA_SPARK_OPTS: '--conf spark.kubernetes.executor.container.image=evil' })).toThrow(AuthorizationError);
  });
  it("keeps the client's options out when the admin's SPARK_OPTS does not name them", () => {
    expect(sparkSubmitArgs('--master x', { KERNEL_EXTRA_SPARK_OPTS: '--conf spark.a=1' })).toEqual(['--master', 'x']);
  });
});
