import { randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

type RequestWithId = IncomingMessage & { requestId?: string };

/**
 * The id of this request: a sane incoming `x-request-id` (≤ 128 of `[A-Za-z0-9._-]`), or a new UUID; chosen once
 * (the request logger and the middleware both ask) and echoed in the response.
 */
export function requestIdOf(request: RequestWithId, response: ServerResponse): string {
  if (request.requestId) return request.requestId;
  const incoming = request.headers[REQUEST_ID_HEADER];
  const requestId = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  request.requestId = requestId;
  response.setHeader(REQUEST_ID_HEADER, requestId);
  return requestId;
}

/**
 * Gives every request its id (`requestIdOf`), for the handlers (`@RequestId()`) and the response. Installed with
 * `app.use` before the body parser, so that the answers the parser gives itself (400 for bad JSON, 413) carry it too:
 * Nest's module middleware would run only after the parser.
 */
export function assignRequestId(request: Request, response: Response, next: NextFunction): void {
  requestIdOf(request, response);
  next();
}

/** The request id `assignRequestId` chose for this request. */
export const RequestId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<RequestWithId>();
  return request.requestId ?? randomUUID();
});
