import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A hot-path route (an image look-up): its successful answers are logged at `debug`. At
     * tens of thousands of hits a second, two `info` lines per hit cost the web process more
     * CPU than the hit itself (JSON, redaction, a write to the log each); the hit counters
     * and the charts already count them. Errors and 4xx answers keep their usual levels.
     */
    quietHits?: boolean;
  }
}

const quiet = (request: FastifyRequest) => request.routeOptions.config.quietHits === true;

/** Fastify's per-request lines, with hot-path hits moved to `debug` (see `quietHits`). */
export class RequestLogging extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (!quiet(request)) return super.incomingRequest(request, reply);
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!quiet(request) || this.isLogDisabled(request)) return super.requestCompleted(error, request, reply);
    const line = { res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ req: request, ...line, err: error }, 'request errored');
    // Its `incoming request` line went to debug, so a failed look-up's line names the request itself.
    else if (reply.statusCode >= 400) reply.log.info({ req: request, ...line }, 'request completed');
    else reply.log.debug(line, 'request completed');
  }
}
