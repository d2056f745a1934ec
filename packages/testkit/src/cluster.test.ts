import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePorts, sweepStaleClusters } from './cluster.js';
import { waitFor } from './client.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout);
  } catch {
    return false;
  }
}

describe('freePorts', () => {
  it('returns distinct ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

describe('sweepStaleClusters', () => {
  it('kills the components and pods of a run whose owner died, and removes its dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-testcluster-'));
    // An owner pid that is certainly dead.
    const owner = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'owner.pid'), owner);
    // A "component": its command line names gp-testcluster; a "pod": its environment names the dir.
    const component = spawn('bash', ['-c', 'exec -a gp-testcluster-fake sleep 300'], { detached: true, stdio: 'ignore' });
    const pod = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, HOME: join(dir, 'pods', 'uid') } });
    // An unrelated process whose pid is recorded must survive (its command line does not match).
    const bystander = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    mkdirSync(join(dir, 'pids'));
    mkdirSync(join(dir, 'pods', '.pgids'), { recursive: true });
    writeFileSync(join(dir, 'pids', 'etcd'), String(component.pid));
    writeFileSync(join(dir, 'pids', 'kube-apiserver'), String(bystander.pid));
    writeFileSync(join(dir, 'pods', '.pgids', String(pod.pid)), '');
    await waitFor(() => spawnSync('cat', [`/proc/${component.pid}/cmdline`], { encoding: 'utf8' }).stdout.includes('gp-testcluster'));

    const lines: string[] = [];
    sweepStaleClusters((l) => lines.push(l));

    expect(existsSync(dir)).toBe(false);
    expect(lines).toContain(`removed stale test cluster ${dir}`);
    await waitFor(() => !alive(component.pid!) && !alive(pod.pid!), { timeoutMs: 5000, description: 'stale processes to die' });
    expect(alive(bystander.pid!)).toBe(true);
    process.kill(bystander.pid!, 'SIGKILL');
  });

  it('leaves the dir of a live owner alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-testcluster-'));
    writeFileSync(join(dir, 'owner.pid'), String(process.pid));
    try {
      sweepStaleClusters();
      expect(existsSync(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
