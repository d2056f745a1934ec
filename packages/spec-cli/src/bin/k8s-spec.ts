#!/usr/bin/env node
// The `k8s-spec` and `jupyter-k8s-spec` executables (so `jupyter k8s-spec install` works).
import { main } from '../cli.js';

process.exitCode = await main(process.argv.slice(2));
