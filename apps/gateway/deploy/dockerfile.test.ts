/**
 * The Dockerfile cannot be built here (no container engine), so this keeps it consistent with the repository
 * instead: what it copies exists and is not ignored, the bins it links are the packages' bins, ports, user and
 * environment names match the manifests, and every `k8s-spec install` line runs with the real CLI, installed
 * the way the image installs it (`pnpm deploy --prod`), into a temporary prefix.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDir, deployArgv, deployCommand, deployDir, readDockerfile, repoRoot, shellWords } from './dockerfile.js';
import { DEFAULT_HTTP_PORT, DEFAULT_RESPONSE_PORT, GATEWAY_ENV, IMAGE_GID, IMAGE_PATHS, IMAGE_UID } from './manifests.js';

const parsed = readDockerfile();
const { all, runtime, argDefaults } = parsed;
const dockerfile = parsed.text;

/** `.dockerignore` patterns (BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile). */
const ignorePatterns = readFileSync(join(deployDir, 'Dockerfile.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

function ignored(path: string): boolean {
  return ignorePatterns.some((pattern) => {
    const source = pattern
      .replace(/[.+^$()|[\]]/g, '\\$&')
      .replace(/\*\*\//g, '\u0000')
      .replace(/\*/g, '[^/]*')
      .replace(/\u0000/g, '(?:.*/)?');
    return new RegExp(`^${source}(?:/.*)?$`).test(path);
  });
}

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository and are not excluded from the build context', () => {
    const copies = all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(3);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/);
      for (const source of words.slice(0, -1)) {
        expect(existsSync(join(repoRoot, source)), `COPY source ${source}`).toBe(true);
        expect(ignored(source), `COPY source ${source} is excluded by Dockerfile.dockerignore`).toBe(false);
      }
    }
    // Every workspace package's manifest is copied before `pnpm install --frozen-lockfile` (which needs them all).
    const workspacePackages = ['packages/core', 'packages/templates', 'packages/launcher', 'packages/rbac', 'packages/spec-cli', 'packages/testkit', 'apps/gateway'];
    for (const pkg of workspacePackages) expect(dockerfile).toContain(`COPY ${pkg}/package.json ${pkg}/`);
    expect(ignored('packages/core/node_modules')).toBe(true);
    expect(ignored('apps/gateway/dist')).toBe(true);
  });

  it('deploys the gateway and the CLI from the lockfile (works offline on an empty metadata cache)', () => {
    const argv = deployArgv(readDockerfile());
    expect(argv.map((words) => words[words.indexOf('--filter') + 1])).toEqual(['@gp/gateway', '@gp/spec-cli']);
    for (const words of argv) {
      // --legacy re-resolves every version range from registry metadata; the lockfile-based deploy does not.
      expect(words).not.toContain('--legacy');
      expect(words).toContain('--config.inject-workspace-packages=true');
      expect(words).toContain('--prod');
    }
    expect(deployCommand(readDockerfile(), '@gp/gateway', '/x')).toEqual([...argv[0]!.slice(0, -1), '--offline', '/x']);
  });

  it('runs the gateway bin and links the k8s-spec bins of the packages', () => {
    const gatewayPkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const specPkg = JSON.parse(readFileSync(join(repoRoot, 'packages', 'spec-cli', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const entrypoint = JSON.parse(runtime.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(['node', join('/opt/gp-gateway', gatewayPkg.bin['gp-gateway']!)]);
    for (const [name, path] of Object.entries(specPkg.bin)) {
      expect(dockerfile).toContain(`ln -s ${join('/opt/k8s-spec', path)} /usr/local/bin/${name}`);
    }
    // The bin is a build entry of the gateway (dist/bin/gp-gateway.js <- src/bin/gp-gateway.ts).
    expect(readFileSync(join(appDir, 'tsup.config.ts'), 'utf8')).toContain("'src/bin/gp-gateway.ts'");
  });

  it('agrees with the manifests on ports, user, state directory and environment names', () => {
    const expose = runtime.find((i) => i.keyword === 'EXPOSE')!.args.split(/\s+/).map(Number);
    expect(expose).toEqual([DEFAULT_HTTP_PORT, DEFAULT_RESPONSE_PORT]);
    expect(runtime.find((i) => i.keyword === 'USER')!.args).toBe(`${IMAGE_UID}:${IMAGE_GID}`);
    const env = runtime.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain(`${GATEWAY_ENV.ip}=0.0.0.0`);
    expect(env).toContain(`${GATEWAY_ENV.port}=${DEFAULT_HTTP_PORT}`);
    expect(env).toContain(`${GATEWAY_ENV.stateFile}=${IMAGE_PATHS.stateFile}`);
    expect(IMAGE_PATHS.stateFile.startsWith(`${IMAGE_PATHS.stateDir}/`)).toBe(true);
    expect(env).toContain(`GP_RESPONSE_PORT=${DEFAULT_RESPONSE_PORT}`);
    expect(dockerfile).toContain(`chown ${IMAGE_UID}:${IMAGE_GID} ${IMAGE_PATHS.stateDir}`);
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')!.args;
    expect(healthcheck).toContain(`process.env.${GATEWAY_ENV.port}`);
    expect(healthcheck).toContain('/healthz');
  });

  describe('k8s-spec install lines, run with the CLI as the image installs it', () => {
    const installLines = runtime.filter((i) => i.keyword === 'RUN' && i.args.startsWith('k8s-spec install'));
    let work: string;
    let cli: string;

    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'gp-dockerfile-'));
      // The CLI bundle must be built (scripts/test.sh's lint step builds it); build it (and what it bundles) when missing.
      if (!existsSync(join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js')) || !existsSync(join(repoRoot, 'packages', 'launcher', 'dist', 'scripts', 'launch_kubernetes.mjs'))) {
        execFileSync('pnpm', ['--filter', '@gp/spec-cli...', '--filter', '!@gp/testkit', 'run', 'build'], { cwd: repoRoot, stdio: 'pipe' });
      }
      // As in the Dockerfile's build stage: a self-contained copy with production dependencies only.
      execFileSync('pnpm', deployCommand(readDockerfile(), '@gp/spec-cli', join(work, 'k8s-spec')), { cwd: repoRoot, stdio: 'pipe' });
      cli = join(work, 'k8s-spec', 'dist', 'bin', 'k8s-spec.js');
    }, 180_000);

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('has the Python, R and Spark Operator specs', () => {
      expect(installLines.map((i) => i.args)).toHaveLength(3);
    });

    it('installs every spec with the flags as written, into the system kernels directory layout', () => {
      const prefix = join(work, 'usr-local');
      const installed: string[] = [];
      for (const line of installLines) {
        const words = shellWords(line.args, argDefaults);
        expect(words.slice(0, 2)).toEqual(['k8s-spec', 'install']);
        expect(words, 'the image installs into the system directory, not a user or prefix one').not.toContain('--user');
        execFileSync(process.execPath, [cli, ...words.slice(1), '--prefix', prefix], { stdio: 'pipe' });
        const imageFlag = words[words.indexOf('--image-name') + 1]!;
        const kernelName = /--crd/.test(line.args) ? 'k8s_python_spark_operator' : /--language R/.test(line.args) ? 'k8s_r' : 'k8s_python';
        const kernelJson = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', kernelName, 'kernel.json'), 'utf8')) as {
          argv: string[];
          metadata: { kernel_provisioner: { config: { image_name: string; launch_timeout: number } } };
        };
        expect(kernelJson.metadata.kernel_provisioner.config.image_name).toBe(imageFlag);
        expect(kernelJson.metadata.kernel_provisioner.config.launch_timeout).toBe(Number(argDefaults.get('KERNEL_LAUNCH_TIMEOUT')));
        // The launcher the spec runs was copied from the deployed packages into the spec.
        const script = kernelJson.argv.find((a) => a.endsWith('.mjs'))!;
        expect(existsSync(script), `${relative(work, script)} exists`).toBe(true);
        installed.push(kernelName);
      }
      expect(installed.sort()).toEqual(['k8s_python', 'k8s_python_spark_operator', 'k8s_r']);
    });
  });
});
