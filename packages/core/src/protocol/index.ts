// The kernel connection protocol: response payloads, key handling, the response listener and
// comm-port requests. See ./README.md.
export * from './types.js';
export * from './errors.js';
export * from './keys.js';
export { unpadPkcs1v15, type Pkcs1UnpadResult } from './pkcs1.js';
export * from './payload.js';
export * from './listener.js';
export { RESPONSE_LISTENER_OPTIONS, responseListenerEnvMarkdown } from './listener-options.js';
export * from './comm.js';
export * from './wire.js';
