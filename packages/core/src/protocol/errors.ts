import { GpError, type GpErrorOptions } from '../errors.js';

/**
 * Why a response payload was dropped. Everything that happens after the outer envelope parsed
 * (RSA unwrap, padding, AES, JSON, kernel id) collapses into `rejected`, so the reason never tells
 * a sender which cryptographic step failed (no padding oracle).
 */
export type ResponsePayloadRejection = 'oversized' | 'malformed' | 'version' | 'rejected';

/** A kernel's response payload could not be accepted; the listener logs and drops it. */
export class ResponsePayloadError extends GpError {
  constructor(
    readonly reason: ResponsePayloadRejection,
    options: GpErrorOptions = {},
  ) {
    super('GP_RESPONSE_PAYLOAD_REJECTED', MESSAGES[reason], {
      httpStatus: 400,
      ...options,
      details: { reason, ...options.details },
    });
  }
}

const MESSAGES: Record<ResponsePayloadRejection, string> = {
  oversized: 'Kernel response payload rejected: larger than the size limit.',
  malformed: 'Kernel response payload rejected: not a base64 JSON envelope of a known launcher.',
  version: 'Kernel response payload rejected: its protocol version is not accepted by this host.',
  rejected: 'Kernel response payload rejected: it does not decrypt to connection information for a registered kernel.',
};

/** The response listener could not start (no port to bind, bad address...). */
export class ResponseListenerError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_RESPONSE_LISTENER', message, options);
  }
}

/** Waiting for a kernel's connection information ended without one (aborted, superseded, listener closed). */
export class ResponseWaitError extends GpError {
  constructor(
    readonly kernelId: string,
    readonly why: 'aborted' | 'superseded' | 'closed',
    options: GpErrorOptions = {},
  ) {
    super(
      'GP_RESPONSE_WAIT_ENDED',
      why === 'aborted'
        ? `Stopped waiting for the connection information of kernel '${kernelId}' (aborted).`
        : why === 'superseded'
          ? `Kernel '${kernelId}' was registered again; the earlier wait for its connection information ended.`
          : `The response listener closed before kernel '${kernelId}' sent its connection information.`,
      { ...options, details: { kernelId, why, ...options.details } },
    );
  }
}

/** A request to a kernel launcher's comm port (interrupt, signal, shutdown) failed or was refused. */
export class CommRequestError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_COMM_REQUEST_FAILED', message, { httpStatus: 502, ...options });
  }
}
