/**
 * What every command gets: where to write, the working directory (for
 * .rivulet/), the environment, and a client pointed at the resolved addresses.
 */
import { clientSecurityFromEnv, RivuletClient } from '../client/index.js';
import { resolveAddresses, type ResolvedAddress } from './args.js';
import { readState } from './state.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface AddressFlags {
  scheduler?: string;
  receiver?: string;
}

export interface Connection {
  client: RivuletClient;
  scheduler: ResolvedAddress;
  receiver: ResolvedAddress;
}

export function connect(io: Io, flags: AddressFlags): Connection {
  // The state file is consulted only when neither a flag nor env names the address,
  // so a broken state file does not block a command that does not need it.
  const needState =
    !(flags.scheduler || io.env.RIVULET_SCHEDULER_ADDRESS) || !(flags.receiver || io.env.RIVULET_RECEIVER_ADDRESS);
  const state = needState ? readState(io.cwd) : undefined;
  // A cluster `rivulet up --insecure` started here is dialled in plaintext; otherwise the usual rule (client/credentials.ts).
  const security = state?.insecure && !io.env.RIVULET_TLS_CA_FILE ? { insecure: true as const } : clientSecurityFromEnv(io.env, io.cwd);
  const { scheduler, receiver } = resolveAddresses({
    flags,
    env: io.env,
    state: state && { scheduler: state.addresses.scheduler, receiver: state.addresses.receiver },
  });
  return { client: new RivuletClient({ scheduler: scheduler.address, receiver: receiver.address, security }), scheduler, receiver };
}

export function println(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n');
}
