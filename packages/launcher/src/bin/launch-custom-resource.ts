// Entry point of the self-contained `scripts/launch_custom_resource.mjs` shipped in kernelspecs.
// Placeholder until the launcher lands (issue #4).
process.stderr.write('launch_custom_resource: not implemented yet\n');
process.exit(1);
