/**
 * Where the gateway's token comes from: `--token` / `GP_GATEWAY_TOKEN`, or a file (`--token-file` /
 * `GP_GATEWAY_TOKEN_FILE`, e.g. a mounted Secret), else a generated one. Never both given.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GpError } from '@gp/core';

/** A token setting that cannot be used; `GP_INVALID_CONFIG` like every bad option (the CLI exits 2). */
export class TokenConfigError extends GpError {
  constructor(message: string, details: Record<string, unknown>, cause?: unknown) {
    super('GP_INVALID_CONFIG', message, { httpStatus: 400, details, ...(cause === undefined ? {} : { cause }) });
  }
}

export interface GatewayToken {
  token: string;
  /** Where it came from; `generated` tokens are printed once to stderr. */
  origin: 'setting' | 'file' | 'generated';
}

export function resolveToken(settings: { token: string; token_file: string }): GatewayToken {
  if (settings.token && settings.token_file) {
    throw new TokenConfigError(
      `Both --token and --token-file (${settings.token_file}) are set: give the token one way (--token-file keeps it out of \`ps\`).`,
      { option: 'token_file', tokenFile: settings.token_file },
    );
  }
  if (settings.token) return { token: settings.token, origin: 'setting' };
  if (!settings.token_file) return { token: randomBytes(24).toString('hex'), origin: 'generated' };
  let text: string;
  try {
    text = readFileSync(settings.token_file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TokenConfigError(`Cannot read the token file ${settings.token_file} (--token-file): ${reason}. Expected a readable file holding the token.`, { option: 'token_file', tokenFile: settings.token_file, reason }, e);
  }
  const token = text.trim();
  if (!token || /\s/.test(token)) {
    throw new TokenConfigError(`The token file ${settings.token_file} (--token-file) must hold one token without whitespace; it holds ${token ? 'several words' : 'nothing'}.`, {
      option: 'token_file',
      tokenFile: settings.token_file,
    });
  }
  return { token, origin: 'file' };
}
