import type { IncomingMessage } from 'node:http';
import { AuthorizationError, GpError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { errorBody, isAuthorized } from './server.js';

function request(authorization?: string): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

describe('isAuthorized', () => {
  const url = (query = '') => new URL(`http://gw/api/kernels${query}`);

  it('accepts the token in the Authorization header (token or Bearer scheme) or the query', () => {
    expect(isAuthorized(request('token s3cret'), url(), 's3cret')).toBe(true);
    expect(isAuthorized(request('Bearer s3cret'), url(), 's3cret')).toBe(true);
    expect(isAuthorized(request(), url('?token=s3cret'), 's3cret')).toBe(true);
  });

  it('refuses a missing, wrong or differently long token', () => {
    expect(isAuthorized(request(), url(), 's3cret')).toBe(false);
    expect(isAuthorized(request('token s3cres'), url(), 's3cret')).toBe(false);
    expect(isAuthorized(request('token s3cret-and-more'), url(), 's3cret')).toBe(false);
    expect(isAuthorized(request('s3cret'), url(), 's3cret')).toBe(false);
  });
});

describe('errorBody', () => {
  it('keeps gp\'s status, code and details, with Jupyter Server\'s message/reason', () => {
    const e = new AuthorizationError('GP_ENV_NOT_ALLOWED', 'no KERNEL_UID', { details: { refused: ['KERNEL_UID'] } });
    expect(errorBody(e)).toEqual({
      status: 403,
      body: { message: 'no KERNEL_UID', reason: 'GP_ENV_NOT_ALLOWED', code: 'GP_ENV_NOT_ALLOWED', details: { refused: ['KERNEL_UID'] } },
    });
  });

  it('uses a launch failure\'s Kubernetes reason as the reason', () => {
    const e = new GpError('GP_KERNEL_IMAGE_PULL_FAILED', 'cannot pull', { details: { reason: 'ErrImagePull', phase: 'waiting-for-pod' } });
    expect(errorBody(e)).toMatchObject({ status: 500, body: { reason: 'ErrImagePull', code: 'GP_KERNEL_IMAGE_PULL_FAILED' } });
  });

  it('answers 500 for anything else', () => {
    expect(errorBody(new Error('boom'))).toEqual({ status: 500, body: { message: 'boom', reason: 'Internal Server Error', code: 'GP_INTERNAL' } });
  });
});
