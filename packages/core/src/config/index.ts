// Option definitions and resolution (defaults < config file < GP_* env < flags). See README.
export * from './validators.js';
export * from './options.js';
export * from './resolve.js';
export * from './file.js';
export * from './paths.js';
export * from './shared.js';
export * from './argv.js';
