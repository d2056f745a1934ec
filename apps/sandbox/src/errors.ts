/** gp-sandbox's errors: a stable code and a message saying what to do. */
import { GpError } from '@gp/core';

/** A port the sandbox was told to use is taken. */
export class PortInUseError extends GpError {
  constructor(readonly port: number, readonly flag: string) {
    super(
      'GP_SANDBOX_PORT_IN_USE',
      `Port ${port} on 127.0.0.1 (--${flag}) is already in use (another sandbox, or a Jupyter server?): pick another with --${flag}=<port>, or --${flag}=0 for any free port.`,
      { details: { port, flag } },
    );
  }
}

/** Something the sandbox runs is not there: an interpreter, JupyterLab, a built file. */
export class MissingToolError extends GpError {
  constructor(readonly tool: string, message: string) {
    super('GP_SANDBOX_MISSING_TOOL', message, { details: { tool } });
  }
}

/** A process of the sandbox failed to start or stopped on its own; the message has its log's tail. */
export class ComponentError extends GpError {
  constructor(readonly component: string, message: string, readonly logPath?: string) {
    super('GP_SANDBOX_COMPONENT_FAILED', message, { details: { component, ...(logPath ? { logPath } : {}) } });
  }
}
