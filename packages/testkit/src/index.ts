export * from './python.js';
export * from './jupyter-client.js';
