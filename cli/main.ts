/**
 * The `rivulet` command (bin/rivulet.js imports this from dist/). Parses
 * arguments with commander and runs one command; every expected failure — a
 * gRPC status, an unreachable cluster, a job that does not bundle — becomes one
 * line `rivulet <cmd>: <message>` on stderr and exit code 1; a bad flag value,
 * an unknown option or a missing argument is one line naming the flag and exit
 * code 2. Only an unexpected bug shows a stack, and only with RIVULET_DEBUG=1.
 */
import { Command, Option } from 'commander';
import { RivuletError } from '../lib/errors.js';
import { parseBytesFlag, parseDurationFlag, parsePositiveInt, resolveAddresses } from './args.js';
import { downCommand } from './commands/down.js';
import { pushCommand, type PushFlags } from './commands/push.js';
import { statusCommand, type StatusFlags } from './commands/status.js';
import { submitCommand, type SubmitFlags } from './commands/submit.js';
import { tailCommand, type TailFlags } from './commands/tail.js';
import { sliceCommand, type SliceFlags } from './commands/slice.js';
import { upCommand, type UpFlags } from './commands/up.js';
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand, type TokenCreateFlags } from './commands/token.js';
import type { Io } from './context.js';
import { CliError, USAGE_EXIT_CODE } from './errors.js';
import { formatErrorLine, type ErrorContext } from './format.js';
import { readState } from './state.js';

const int = (flag: string) => (v: string) => parsePositiveInt(flag, v);

function errorContext(io: Io, flags: { scheduler?: string; receiver?: string }, service: 'scheduler' | 'receiver'): ErrorContext {
  let state: ReturnType<typeof readState>;
  try {
    state = readState(io.cwd);
  } catch {
    state = undefined;
  }
  const r = resolveAddresses({ flags, env: io.env, state: state && state.addresses });
  return { service, schedulerAddress: r.scheduler.address, receiverAddress: r.receiver.address };
}

function isExpected(err: unknown): boolean {
  if (err instanceof CliError || err instanceof RivuletError) return true;
  // Plain gRPC ServiceErrors and Node system errors (ENOENT, EACCES…) are user-facing too.
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
}

/** Run `argv` (as process.argv) and resolve with the exit code. */
export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }): Promise<number> {
  let exitCode = 0;
  const run = async (command: string, service: 'scheduler' | 'receiver', flags: { scheduler?: string; receiver?: string }, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      exitCode = err instanceof CliError ? err.exitCode : 1;
      io.stderr.write(formatErrorLine(command, err, errorContext(io, flags, service)) + '\n');
      if (!isExpected(err) || io.env.RIVULET_DEBUG === '1') io.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    }
  };

  // Commander's usage errors ("error: unknown option '--x'") become one line like every other error.
  const usageLine = (message: string): string => {
    const command = program.commands.find((c) => c.name() === argv[2])?.name();
    const what = message.trim().replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ');
    return `rivulet${command ? ` ${command}` : ''}: ${what} (run \`rivulet${command ? ` ${command}` : ''} --help\` for usage)\n`;
  };
  const program: Command = new Command('rivulet')
    .description('Rivulet: distributed micro-batch stream processing (D-Streams over gRPC)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(usageLine(s)),
    })
    .exitOverride();

  const schedulerOpt = () => new Option('--scheduler <host:port>', 'scheduler address (else $RIVULET_SCHEDULER_ADDRESS, .rivulet/cluster.json, 127.0.0.1:7071)');
  const receiverOpt = () => new Option('--receiver <host:port>', 'receiver address (else $RIVULET_RECEIVER_ADDRESS, .rivulet/cluster.json, 127.0.0.1:7070)');

  program
    .command('up')
    .description('start nats-server and every service on this machine, print the endpoints')
    .option('--executors <n>', 'executor processes', int('--executors'), 2)
    .option('--schedulers <n>', 'scheduler processes: one leads, the others stand by and take over when it dies', int('--schedulers'), 1)
    .option('--receivers <n>', 'receiver processes: producers spread pushes over them and fail over between them', int('--receivers'), 1)
    .option('--batch-interval <duration>', 'batch interval (100ms-10s)', '1s')
    .option('--block-interval <duration>', 'block interval, divides the batch interval (default: batch interval ÷ total slots, at least 50ms)')
    .option('--slots <n>', 'task slots per executor (default: cores)', int('--slots'))
    .option('--nats-url <url>', 'use this NATS server instead of starting nats-server')
    .option('--detach', 'leave the cluster running in the background (stop with `rivulet down`)')
    .option('--log-level <level>', 'service log level (logs go to .rivulet/logs/)')
    .option('--random-ports', 'do not try the default ports 7070-7072 first')
    .option('--start-timeout <duration>', 'how long each process may take to become healthy', '30s')
    .option('--insecure', 'no TLS and no access control (default: mutual TLS between services, tokens for clients; material in .rivulet/tls/)')
    .option(
      '--jetstream-sources <STREAM=subjects,...>',
      'JetStream streams jobs may read with ctx.jetStream (executors read them); NATS user `producer` (certificate .rivulet/tls/nats-client-producer.*) may create them and publish to their subjects, e.g. LINES=lines.>',
    )
    .action((opts: UpFlags) => run('up', 'scheduler', {}, () => upCommand(io, opts)));

  program
    .command('down')
    .description('stop the cluster `rivulet up` started in this directory')
    .option('--grace <duration>', 'wait this long after SIGTERM before SIGKILL', '5s')
    .action((opts: { grace: string }) =>
      run('down', 'scheduler', {}, () => downCommand(io, { graceMs: parseDurationFlag('--grace', opts.grace) })),
    );

  program
    .command('submit')
    .description('bundle a job module and submit it; prints the job id')
    .argument('<job>', 'job module (.ts or .js) using the rivulet D-Stream API')
    .option('--name <name>', 'display name (default: the file name)')
    .addOption(schedulerOpt())
    .action((job: string, opts: SubmitFlags) => run('submit', 'scheduler', opts, () => submitCommand(io, job, opts)));

  program
    .command('push')
    .description('push lines (stdin, or --file) as records to an input stream; prints the acked count')
    .argument('<stream>', 'input stream name (one a running job reads)')
    .option('--file <path>', 'read this file instead of stdin')
    .option('--batch-records <n>', 'a batch is sent once it holds this many lines', int('--batch-records'), 1000)
    .option('--batch-bytes <size>', '...or once its lines reach this size', (v: string) => parseBytesFlag('--batch-bytes', v), 256 * 1024)
    .option('--in-flight <n>', 'most batches sent but not yet acked; reading waits beyond it', int('--in-flight'), 16)
    .option(
      '--retry-timeout <duration>',
      'retry transient failures (receiver unreachable or restarting, backpressure) this long without progress before failing; 0 = never (retries are deduplicated)',
      (v: string) => parseDurationFlag('--retry-timeout', v),
      60_000,
    )
    .addOption(receiverOpt())
    .action((stream: string, opts: PushFlags) => run('push', 'receiver', opts, async () => void (await pushCommand(io, stream, opts))));

  program
    .command('tail')
    .description('print each committed batch of a job output, one line per batch')
    .argument('<job>', 'job id (from rivulet submit / rivulet status)')
    .option('--output <name>', 'output name (may be omitted when the job has exactly one)')
    .option('--json', 'one JSON object per batch: {"batchTime":<ms>,"records":[...]}')
    .option('--batches <n>', 'exit after this many batches', int('--batches'))
    .option('--from-beginning', 'start with the batches still retained by the scheduler')
    .option('--non-empty', 'skip batches without records (they do not count toward --batches)')
    .option('--max-records <n>', 'records shown per line in the human form', int('--max-records'), 20)
    .addOption(schedulerOpt())
    .action((job: string, opts: TailFlags) =>
      run('tail', 'scheduler', opts, async () => {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await tailCommand(io, job, opts, abort.signal);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );

  program
    .command('slice')
    .description("the retained committed batches of a job output in a time range (Spark's DStream.slice), one line per batch")
    .argument('<job>', 'job id (from rivulet submit / rivulet status)')
    .argument('<output>', 'output name')
    .requiredOption('--from <time>', 'first batch time, included: epoch ms, ISO time (2024-05-01T12:00:00Z), now, or before now (-30s, -5m); aligned down to the output grid')
    .option('--to <time>', 'last batch time, included (same forms; aligned down)', 'now')
    .option('--json', 'one JSON object per batch: {"batchTime":<ms>,"records":[...]}')
    .option('--non-empty', 'print only batches with records')
    .option('--max-records <n>', 'records shown per line in the human form', int('--max-records'), 20)
    .addOption(schedulerOpt())
    .action((job: string, output: string, opts: SliceFlags) => run('slice', 'scheduler', opts, () => sliceCommand(io, job, output, opts)));

  program
    .command('status')
    .description('executors, jobs and recent batches with their delays and locality')
    .option('--json', 'the raw status as JSON')
    .option('--batches <n>', 'recent batches per job', int('--batches'), 10)
    .addOption(schedulerOpt())
    .action((opts: StatusFlags) => run('status', 'scheduler', opts, () => statusCommand(io, opts)));

  const token = program.command('token').description('API tokens for users (admins only): create, list, revoke');
  token
    .command('create')
    .description('make a token; prints it once (stdout), details on stderr')
    .requiredOption('--user <name>', 'who the token names')
    .requiredOption('--role <role>', 'admin, submit (submit jobs; stop and watch its own), push (push to streams) or view (status)')
    .option('--streams <a,b>', 'push tokens: only these streams')
    .option('--ttl <duration>', 'expires after this long (default: never)', (v: string) => parseDurationFlag('--ttl', v))
    .option('--json', 'the token and its details as JSON')
    .addOption(schedulerOpt())
    .action((opts: TokenCreateFlags) => run('token create', 'scheduler', opts, () => tokenCreateCommand(io, opts)));
  token
    .command('list')
    .description('every token (ids, users, roles, expiry; never secrets)')
    .option('--json', 'as JSON')
    .addOption(schedulerOpt())
    .action((opts: { scheduler?: string; json?: boolean }) => run('token list', 'scheduler', opts, () => tokenListCommand(io, opts)));
  token
    .command('revoke')
    .description('revoke a token by id (or the token itself)')
    .argument('<id>', 'token id (16 hex digits) or rvt_… token')
    .addOption(schedulerOpt())
    .action((id: string, opts: { scheduler?: string }) => run('token revoke', 'scheduler', opts, () => tokenRevokeCommand(io, id, opts)));

  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    // A flag value our parsers refused (e.g. --in-flight 0): commander printed
    // nothing. Checked first, since a CliError has an exitCode too.
    if (err instanceof CliError) {
      io.stderr.write(formatErrorLine(argv[2] ?? 'rivulet', err) + '\n');
      return err.exitCode;
    }
    // commander already printed its message (unknown option, missing argument, --help).
    const { exitCode: code, code: what } = err as { exitCode?: number; code?: string };
    if (typeof code !== 'number') throw err;
    const informational = what === 'commander.helpDisplayed' || what === 'commander.help' || what === 'commander.version';
    return informational || code === 0 ? code : USAGE_EXIT_CODE;
  }
  return exitCode;
}
