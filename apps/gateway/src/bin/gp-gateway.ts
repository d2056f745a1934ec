#!/usr/bin/env node
// The gp-gateway command: resolve the settings, start the gateway, stop it on SIGTERM/SIGINT.
import { createLogger, isGpError } from '@gp/core';
import { helpText, settingsFromCommandLine } from '../cli.js';
import { startGateway } from '../gateway.js';

async function main(): Promise<number> {
  const { help, settings, warnings } = await settingsFromCommandLine(process.argv.slice(2), process.env);
  if (help || !settings) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const logger = createLogger({ name: 'GatewayApp', level: settings.log_level, format: settings.log_format });
  for (const warning of warnings) logger.warn(warning);
  const gateway = await startGateway({ ...settings, logger });
  process.stdout.write(`${gateway.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void gateway.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`gp-gateway: ${isGpError(e) ? `${e.message} [${e.code}]` : e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(isGpError(e) && e.code === 'GP_INVALID_CONFIG' ? 2 : 1);
  },
);
