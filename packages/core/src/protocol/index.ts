// The kernel connection protocol: response payloads, key handling, comm-port requests. See README.
export {};
