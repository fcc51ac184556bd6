/** The shared rule for names and ids (lib/names.ts), and the job name a submission ends up with. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../lib/errors.js';
import { checkName, checkText, ID_MAX_LENGTH, idSchema, isValidName, NAME_MAX_LENGTH, nameSchema, toName } from '../../lib/names.js';
import { jobName } from '../../services/scheduler/job-manager.js';
import { bundleJob } from '../../lib/dstream/bundle.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('names (lib/names.ts)', () => {
  it('accepts names of letters, digits and _ . : - up to 128 characters', () => {
    for (const ok of ['a', 'lines', 'word_count-2', 'orders.eu:v1', 'x'.repeat(NAME_MAX_LENGTH)]) {
      expect(isValidName(ok), ok).toBe(true);
      expect(nameSchema.safeParse(ok).success).toBe(true);
    }
  });

  it('refuses empty, too long, or other characters, naming the field and the rule', () => {
    for (const bad of ['', 'x'.repeat(NAME_MAX_LENGTH + 1), 'a b', 'a/b', 'é', 'a\nb', '<script>']) {
      expect(isValidName(bad), JSON.stringify(bad)).toBe(false);
      expect(nameSchema.safeParse(bad).success).toBe(false);
    }
    const err = (() => {
      try {
        checkName('SubmitJob name', 'x'.repeat(4 * 1024 * 1024));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err!.message).toBe('SubmitJob name is 4194304 characters long, over 128: a name is 1-128 characters of letters, digits and _ . : -');
    expect(() => checkName('open.stream', 'a b')).toThrow(/open\.stream "a b" has a character outside/);
    expect(() => checkName('x', 42)).toThrow(/x is not a string/);
  });

  it('never quotes more than 64 characters of a refused value', () => {
    const long = 'é'.repeat(100);
    expect(() => checkName('f', long)).toThrow(new RegExp(`"${'é'.repeat(64)}"… \\(100 characters\\)`));
  });

  it('ids also allow / and @ and are up to 1024 characters (block ids compose names)', () => {
    for (const ok of ['shuffle/job-1a2b:1000:3:abcd/0/7', 'rdd/job-1:1000:2:inc/3', 'lines@1000', 'input.r0.x6c.1000.1']) {
      expect(isValidName(ok, 'id'), ok).toBe(true);
      expect(idSchema.safeParse(ok).success).toBe(true);
      expect(isValidName(ok)).toBe(ok === 'input.r0.x6c.1000.1');
    }
    expect(isValidName('x'.repeat(ID_MAX_LENGTH), 'id')).toBe(true);
    expect(isValidName('x'.repeat(ID_MAX_LENGTH + 1), 'id')).toBe(false);
    expect(() => checkName('PutBlock block_id', 'a b', 'id')).toThrow(/an id is 1-1024 characters of letters, digits and _ \. : \/ @ -/);
  });

  it('bounds free text and refuses control characters', () => {
    expect(checkText('source', 'word count.ts', 1024)).toBe('word count.ts');
    expect(() => checkText('source', 'x'.repeat(1025), 1024)).toThrow(/source is 1025 characters long, over 1024/);
    expect(() => checkText('source', 'a\u0000b', 1024)).toThrow(/control character/);
  });

  it('makes a name from a file name', () => {
    expect(toName('word count')).toBe('word-count');
    expect(toName('x'.repeat(300))).toHaveLength(NAME_MAX_LENGTH);
    expect(toName('///')).toBeUndefined();
  });
});

describe('jobName (the name a submitted job is listed under)', () => {
  it('is the asked name, else the module options.name, else the file name made a name', () => {
    expect(jobName('wc', 'declared', 'wordcount.ts')).toBe('wc');
    expect(jobName('', 'declared', 'wordcount.ts')).toBe('declared');
    expect(jobName('', undefined, 'word count.mjs')).toBe('word-count');
    expect(jobName('', undefined, '/home/me/jobs/wordcount.ts')).toBe('wordcount');
    expect(jobName('', undefined, '')).toBe('job');
  });

  it('a bundle of `word count.ts` is named `word-count` (the SDK and CLI send that name)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-names-'));
    try {
      const file = join(dir, 'word count.ts');
      writeFileSync(file, `import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => { ctx.receiverStream('lines').output('out'); });\n`);
      expect((await bundleJob(file)).name).toBe('word-count');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid asked or declared name', () => {
    expect(() => jobName('x'.repeat(200), undefined, 'a.ts')).toThrow(/SubmitJob name is 200 characters long/);
    expect(() => jobName('', 'has space', 'a.ts')).toThrow(/the job's options.name "has space"/);
  });
});
