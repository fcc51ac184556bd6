/**
 * `rivulet token create|list|revoke`: API tokens for users (admins only; the
 * admin token `rivulet up` made is used by default in its directory).
 */
import { connect, println, type AddressFlags, type Io } from '../context.js';
import { CliError } from '../errors.js';

export interface TokenCreateFlags extends AddressFlags {
  user: string;
  role: string;
  streams?: string;
  ttl?: number;
  json?: boolean;
}

const ROLES = ['admin', 'submit', 'push', 'view'] as const;

export async function tokenCreateCommand(io: Io, flags: TokenCreateFlags): Promise<void> {
  if (!(ROLES as readonly string[]).includes(flags.role)) throw new CliError(`--role must be one of ${ROLES.join(', ')} (got "${flags.role}")`, 2);
  const streams = flags.streams ? flags.streams.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const { client } = connect(io, flags);
  try {
    const { token, info } = await client.createToken({ user: flags.user, role: flags.role as (typeof ROLES)[number], streams, ttlMs: flags.ttl ?? 0 });
    if (flags.json) {
      println(io.stdout, JSON.stringify({ token, ...info }));
      return;
    }
    // The token alone on stdout (for `export RIVULET_TOKEN=$(rivulet token create …)`); the rest on stderr.
    println(io.stdout, token);
    const expires = info.expiresAtMs ? `expires ${new Date(info.expiresAtMs).toISOString()}` : 'never expires';
    println(io.stderr, `token ${info.id} for ${info.user} (role ${info.role}${info.streams.length ? `, streams ${info.streams.join(',')}` : ''}), ${expires}; it is shown only now`);
  } finally {
    await client.close();
  }
}

export async function tokenListCommand(io: Io, flags: AddressFlags & { json?: boolean }): Promise<void> {
  const { client } = connect(io, flags);
  try {
    const tokens = await client.listTokens();
    if (flags.json) {
      println(io.stdout, JSON.stringify(tokens));
      return;
    }
    println(io.stdout, ['ID'.padEnd(16), 'USER'.padEnd(20), 'ROLE'.padEnd(7), 'EXPIRES'.padEnd(24), 'STREAMS'].join('  '));
    for (const t of tokens) {
      const expires = t.expiresAtMs ? new Date(t.expiresAtMs).toISOString() : 'never';
      println(io.stdout, [t.id.padEnd(16), t.user.padEnd(20), t.role.padEnd(7), expires.padEnd(24), t.streams.join(',') || '*'].join('  '));
    }
  } finally {
    await client.close();
  }
}

export async function tokenRevokeCommand(io: Io, id: string, flags: AddressFlags): Promise<void> {
  const { client } = connect(io, flags);
  try {
    const revoked = await client.revokeToken(id.replace(/^rvt_/, '').slice(0, 16));
    if (!revoked) throw new CliError(`no token with id ${id}`, 1);
    println(io.stderr, `token ${id} revoked`);
  } finally {
    await client.close();
  }
}
