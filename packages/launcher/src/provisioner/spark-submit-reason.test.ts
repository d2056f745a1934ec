import { describe, expect, it } from 'vitest';
import { sparkSubmitReason } from './provisioner.js';

describe('sparkSubmitReason', () => {
  it("takes Spark's last exception line, not the stack trace", () => {
    const out = [
      '+ run_submit /opt/spark/bin/spark-submit --master k8s://https://127.0.0.1:1',
      'Exception in thread "main" io.fabric8.kubernetes.client.KubernetesClientException: An error has occurred.',
      '\tat io.fabric8.kubernetes.client.KubernetesClientException.launderThrowable(KubernetesClientException.java:129)',
      'Caused by: java.net.ConnectException: Connection refused',
      '\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)',
      '\t... 17 more',
    ].join('\n');
    expect(sparkSubmitReason(out)).toBe('Caused by: java.net.ConnectException: Connection refused');
  });
  it('falls back to the last lines', () => {
    expect(sparkSubmitReason('a\nb\nSPARK_HOME must be set\n')).toBe('a | b | SPARK_HOME must be set');
  });
});
