// Entry point of the self-contained `scripts/launch_custom_resource.mjs` shipped in kernelspecs.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLauncher } from '../cli.js';

const code = await runLauncher('custom_resource', {
  argv: process.argv.slice(2),
  env: process.env,
  scriptDir: dirname(fileURLToPath(import.meta.url)),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
process.exitCode = code;
