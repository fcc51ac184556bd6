/**
 * Bundling a job module for submission: esbuild turns the TypeScript/JavaScript
 * module and everything it imports (except `rivulet` itself and Node built-ins)
 * into one CommonJS file that the scheduler and executors load by content hash.
 */
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { JobDefinitionError } from './errors.js';
import { bundleHash } from './loader.js';
import { toName } from '../names.js';

export interface JobBundle {
  code: string;
  hash: string;
  /** The file it was made from, for error messages. */
  source: string;
  /** Default job name: the file name without extension, made a name (lib/names.ts toName). */
  name: string;
}

export async function bundleJob(path: string): Promise<JobBundle> {
  const entry = resolve(path);
  if (!existsSync(entry) || !statSync(entry).isFile()) throw new JobDefinitionError(`job file not found: ${path}`);
  let code: string;
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: ['rivulet', 'rivulet/*'],
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    code = result.outputFiles[0]!.text;
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> })
      .errors;
    const detail = errors?.length
      ? errors
          .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text))
          .join('\n')
      : (e as Error).message;
    throw new JobDefinitionError(`cannot bundle ${path}:\n${detail}`, { cause: e });
  }
  // The default job name follows the name rule (lib/names.ts): `word count.ts` is submitted as `word-count`.
  return { code, hash: bundleHash(code), source: basename(entry), name: toName(basename(entry).replace(/\.[cm]?[jt]sx?$/, '')) ?? 'job' };
}
