/**
 * The container image, checked without a Docker engine: the Dockerfile's structure (multi-stage
 * on node:20-bookworm-slim, production dependencies only at run time, a non-root user, `node` as
 * the entry point), and that everything the chart runs inside it exists after `npm run build` at
 * the same paths relative to the image's WORKDIR (the image's /app is the repository's layout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { baseValues, chartCopy, readDockerfile, render, repoRoot, type DockerfileInfo, type K8sObject } from './helpers.js';

let docker: DockerfileInfo;
let objs: K8sObject[];
beforeAll(async () => {
  docker = readDockerfile();
  const chart = chartCopy();
  try {
    objs = await render(chart, baseValues());
  } finally {
    chart.remove();
  }
});

const ops = (stage: DockerfileInfo['runtime'], op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('is multi-stage on node:20-bookworm-slim: a build stage with all dependencies, a runtime stage with production ones', () => {
    expect(docker.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of docker.stages) expect(s.from).toBe('node:20-bookworm-slim');
    const build = docker.stages.find((s) => ops(s, 'RUN').some((r) => r.includes('npm run build')));
    expect(build, 'a stage runs npm run build').toBeDefined();
    expect(build).not.toBe(docker.runtime);
    expect(ops(build!, 'RUN').some((r) => /^npm ci\b(?!.*--omit)/.test(r))).toBe(true);
    expect(ops(docker.runtime, 'RUN').some((r) => /^npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(ops(docker.runtime, 'RUN').some((r) => r.includes('npm run build'))).toBe(false);
    // The compiled code comes from the build stage.
    expect(ops(docker.runtime, 'COPY')).toContain(`--from=${build!.name} /app/dist ./dist`);
  });

  it('builds everything tsconfig compiles', () => {
    const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const build = docker.stages.find((s) => ops(s, 'RUN').some((r) => r.includes('npm run build')))!;
    const copied = ops(build, 'COPY').map((c) => c.split(/\s+/)[0]!.replace(/\/$/, ''));
    for (const dir of tsconfig.include) expect(copied, `build stage copies ${dir}/`).toContain(dir);
    expect(copied).toContain('tsconfig.json');
  });

  it('copies only what exists and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const stage of docker.stages) {
      for (const copy of ops(stage, 'COPY').filter((c) => !c.startsWith('--from'))) {
        const sources = copy.split(/\s+/).slice(0, -1);
        for (const src of sources) {
          expect(existsSync(join(repoRoot, src)), `${src} exists`).toBe(true);
          expect(ignored, `${src} is not in .dockerignore`).not.toContain(src.replace(/\/$/, ''));
        }
      }
    }
  });

  it('runs as the non-root `node` user (uid 1000), which the chart requires', () => {
    expect(docker.user).toBe('node');
    // USER comes after the last RUN/COPY, so nothing in the runtime stage is root-owned by accident.
    const lastUser = docker.runtime.instructions.findIndex((i) => i.op === 'USER');
    expect(docker.runtime.instructions.slice(lastUser).some((i) => i.op === 'RUN')).toBe(false);
    const values = parseYaml(readFileSync(join(repoRoot, 'helm/rivulet/values.yaml'), 'utf8')) as K8sObject;
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
  });

  it('has `node` as its entry point and a service main as the default command', () => {
    expect(docker.entrypoint).toEqual(['node']);
    expect(docker.workdir).toBe('/app');
    expect(docker.cmd).toHaveLength(1);
    expect(docker.cmd[0]).toMatch(/^dist\/services\/\w+\/main\.js$/);
    expect(existsSync(join(repoRoot, docker.cmd[0]!))).toBe(true);
  });

  it('contains every file the chart runs: each service main and the helm test CLI, examples and esbuild', () => {
    const runtimeCopies = ops(docker.runtime, 'COPY').map((c) => c.split(/\s+/).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''));
    const inImage = (path: string) => runtimeCopies.some((dest) => path === dest || path.startsWith(`${dest}/`));
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    expect(deployments).toHaveLength(4);
    for (const dep of deployments) {
      for (const c of dep.spec.template.spec.containers) {
        expect(c.command, 'the image entry point (node) is used').toBeUndefined();
        const [entry] = c.args as string[];
        expect(inImage(entry!), `${entry} is copied into the image`).toBe(true);
        expect(existsSync(join(repoRoot, entry!)), `${entry} exists after npm run build`).toBe(true);
      }
    }
    const testPod = objs.find((o) => o.kind === 'Pod')!;
    const script = testPod.spec.containers[0].args.join('\n') as string;
    for (const file of ['bin/rivulet.js', 'examples/wordcount.ts', 'dist/client/index.js']) {
      expect(script).toContain(file.startsWith('dist/') ? `./${file}` : file);
      expect(inImage(file), `${file} is copied into the image`).toBe(true);
      expect(existsSync(join(repoRoot, file))).toBe(true);
    }
    expect(existsSync(join(repoRoot, 'dist/cli/main.js'))).toBe(true);
    expect(inImage('proto/rivulet/v1/common.proto'), 'proto/ is loaded at run time').toBe(true);
    // `rivulet submit` bundles with esbuild: it must survive `npm ci --omit=dev`.
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toContain('esbuild');
  });
});
