// Entry point of the self-contained `scripts/launch_kubernetes.mjs` shipped in kernelspecs.
// Placeholder until the launcher lands (issue #4).
process.stderr.write('launch_kubernetes: not implemented yet\n');
process.exit(1);
