import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './python.js';

/** The Go module that builds `gp-testcluster` (etcd, kube-apiserver, controller manager, scheduler, process node). */
export const clusterModuleDir: string = join(repoRoot, 'packages', 'testkit', 'cluster');

export class ClusterBuildError extends Error {
  readonly code = 'GP_TESTKIT_BUILD_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterBuildError';
  }
}

export interface BinaryOptions {
  /** Cache root; default `$GP_TESTKIT_CACHE` or `~/.cache/gp-testkit`. */
  cacheDir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface ClusterBinary {
  path: string;
  /** The k8s.io/kubernetes release the binary is built from, e.g. `v1.36.3`. */
  kubernetesVersion: string;
  /** Whether this call built it (false: it was cached). */
  built: boolean;
  buildSeconds?: number;
}

/** The k8s.io/kubernetes version required by the cluster module's go.mod. */
export function kubernetesVersion(): string {
  const gomod = readFileSync(join(clusterModuleDir, 'go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(gomod);
  if (!m?.[1]) throw new ClusterBuildError(`${clusterModuleDir}/go.mod does not require k8s.io/kubernetes`);
  return m[1];
}

/**
 * Linker flags: strip symbols, and stamp the Kubernetes version into the components (as
 * Kubernetes' own build does) so /version reports it instead of v0.0.0-master.
 */
export function clusterLdflags(version: string = kubernetesVersion()): string {
  const [major = '', minor = ''] = version.replace(/^v/, '').split('.');
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
  return ['-s', '-w', ...stamps].join(' ');
}

/** Cache key: the Kubernetes version plus a hash of go.mod, go.sum, the Go sources and the linker flags. */
export function clusterBinaryKey(): string {
  const hash = createHash('sha256');
  hash.update(clusterLdflags()).update('\0');
  const files = readdirSync(clusterModuleDir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const f of files) {
    hash.update(f).update('\0').update(readFileSync(join(clusterModuleDir, f))).update('\0');
  }
  return `${kubernetesVersion()}-${hash.digest('hex').slice(0, 12)}`;
}

export function clusterCacheDir(options: BinaryOptions = {}): string {
  return options.cacheDir ?? process.env.GP_TESTKIT_CACHE ?? join(homedir(), '.cache', 'gp-testkit');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Returns the `gp-testcluster` binary for the current Go sources, building it with the
 * machine's `go` if it is not in the cache yet (a cold build compiles Kubernetes: many
 * minutes). A lock file makes concurrent callers wait for one build.
 */
export async function ensureClusterBinary(options: BinaryOptions = {}): Promise<ClusterBinary> {
  const version = kubernetesVersion();
  const built = await ensureGoBinary(
    { name: 'gp-testcluster', moduleDir: clusterModuleDir, key: clusterBinaryKey(), ldflags: clusterLdflags(version), what: `Kubernetes ${version}` },
    options,
  );
  return { ...built, kubernetesVersion: version };
}

/** A Go `main` module of the testkit that `ensureGoBinary` builds into the cache. */
export interface GoBinarySpec {
  /** File name of the binary, e.g. `gp-testcluster`. */
  name: string;
  /** Directory of the module's go.mod and main package. */
  moduleDir: string;
  /** Cache key (a directory under the cache root): must change whenever the sources or flags do. */
  key: string;
  ldflags: string;
  /** For the progress line, e.g. `Kubernetes v1.36.3`. */
  what: string;
}

export interface GoBinary {
  path: string;
  /** Whether this call built it (false: it was cached). */
  built: boolean;
  buildSeconds?: number;
}

/**
 * Returns `<cache>/<key>/<name>`, building it with the machine's `go` if it is not there yet. A lock file
 * (`build.lock`, holding the builder's pid; a dead builder's lock is taken over) makes concurrent callers,
 * in this or other processes, wait for one build.
 */
export async function ensureGoBinary(spec: GoBinarySpec, options: BinaryOptions = {}): Promise<GoBinary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[gp-testkit] ${line}\n`));
  const dir = join(clusterCacheDir(options), spec.key);
  const binary = join(dir, spec.name);
  if (existsSync(binary)) return { path: binary, built: false };

  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, 'build.lock');
  let announced = false;
  for (;;) {
    if (existsSync(binary)) return { path: binary, built: false };
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSafe(lockPath));
      if (owner && !pidAlive(owner)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for another process (pid ${owner || '?'}) building ${binary}`);
        announced = true;
      }
      await sleep(1000);
    }
  }
  try {
    if (existsSync(binary)) return { path: binary, built: false };
    const started = Date.now();
    log(`building ${spec.name} (${spec.what}) into ${dir}; a cold build takes many minutes`);
    await goBuild(spec.moduleDir, join(dir, `${spec.name}.tmp`), spec.ldflags, log);
    renameSync(join(dir, `${spec.name}.tmp`), binary);
    const buildSeconds = Math.round((Date.now() - started) / 1000);
    log(`built ${spec.name} in ${buildSeconds}s`);
    return { path: binary, built: true, buildSeconds };
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function goBuild(moduleDir: string, out: string, ldflags: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('go', ['build', '-v', '-trimpath', `-ldflags=${ldflags}`, '-o', out, '.'], {
      cwd: moduleDir,
      env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', GOTOOLCHAIN: 'local' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let packages = 0;
    let tail: string[] = [];
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        tail = [...tail.slice(-40), line];
        if (/^[\w.\-/]+$/.test(line)) {
          packages += 1;
          if (packages % 100 === 0) log(`  go build: ${packages} packages compiled (${Math.round((Date.now() - started) / 1000)}s)`);
        } else if (line.trim()) {
          log(`  go: ${line}`);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) =>
      reject(new ClusterBuildError(`cannot run 'go' to build the test cluster (${err.message}); install Go ≥ 1.26 and put it on PATH`)),
    );
    child.on('close', (code) => {
      if (code === 0 && existsSync(out) && statSync(out).size > 0) return resolve();
      reject(
        new ClusterBuildError(
          `'go build' in ${moduleDir} failed with exit code ${code}; last output:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}
