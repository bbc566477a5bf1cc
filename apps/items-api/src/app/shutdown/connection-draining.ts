import { type BeforeApplicationShutdown, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Whether the app has begun to shut down: set before the HTTP server closes. */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  isShuttingDown = false;

  beforeApplicationShutdown(): void {
    this.isShuttingDown = true;
  }
}

/**
 * During shutdown, answers each request with `Connection: close`. The HTTP server's close waits for its open
 * connections, and a busy keep-alive connection is never idle: without this, a client (or load balancer) that keeps
 * sending on it holds the shutdown until it stops. Requests in flight still get their answers.
 */
@Injectable()
export class ConnectionDrainingMiddleware implements NestMiddleware {
  constructor(private readonly state: ShutdownState) {}

  use(_request: Request, response: Response, next: NextFunction): void {
    if (this.state.isShuttingDown) response.setHeader('Connection', 'close');
    next();
  }
}
