#!/usr/bin/env node
// The gp-gateway command (filled in by the server work).
export {};
