/**
 * zeromq's process-wide context allows 1023 sockets by default; past that `new zmq.Dealer()` throws. The
 * gateway needs one iopub monitor per kernel plus four sockets per kernel with WebSocket clients, so it
 * raises the limit to what libzmq allows (ZMQ_SOCKET_LIMIT): the process's file descriptors (`ulimit -n`)
 * are then the bound, and running out of them is a refused WebSocket, not a crash.
 */
import type { Logger } from '@gp/core';
import * as zmq from 'zeromq';

export function raiseZmqSocketLimit(log: Logger): void {
  const context = zmq.context;
  const limit = context.maxSocketsLimit;
  if (context.maxSockets >= limit) return;
  try {
    context.maxSockets = limit;
  } catch (e) {
    log.warn('Could not raise the ZeroMQ socket limit.', { error: e, max_sockets: context.maxSockets });
  }
}
