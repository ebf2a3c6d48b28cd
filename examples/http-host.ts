/**
 * An HTTP host for the lending desk on Fastify 5: every desk command and query as a route
 * (registered from `SWL_ROUTES`, none written by hand), sign-in, and every error as an RFC 9457
 * problem through `swlFastifyErrorHandler`.
 *
 *   npm run example:http                              # SQLite file instance/app.db, port 3000
 *   PORT=8080 DATABASE_URL=postgresql://user:pw@host/db npm run example:http
 *
 * Then, for instance:
 *
 *   curl -s -X POST localhost:3000/session -H 'content-type: application/json' \
 *        -d '{"login":"admin@biblioteca.com","password":"…"}'                 # → { token, user }
 *   curl -s localhost:3000/loans/overdue?limit=10 -H 'authorization: Bearer <token>'
 *   curl -s localhost:3000/openapi.json                                        # the routes as OpenAPI 3.1
 *
 * Set SWL_ADMIN_PASSWORD to choose the default admin's password; otherwise one is generated and
 * printed once, when the admin is created. test/http-example.test.ts drives a whole week through
 * this host with real HTTP requests, on SQLite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  type Actor,
  type Clock,
  type DeskServices,
  deskServices,
  initializeDatabase,
  openSwlOrm,
  SwlError,
  type SwlEventBus,
} from 'swl-library';
import {
  callRoute,
  parseRouteInput,
  SWL_ROUTE_BY_NAME,
  SWL_ROUTES,
  swlFastifyErrorHandler,
  swlOpenApiPaths,
} from 'swl-library/http';

/** The body of `POST /session`, as `UserService.authenticate` takes it. */
type SignIn = Parameters<DeskServices['users']['authenticate']>[0];

/** What the host remembers of a signed-in user. */
interface Session {
  actor: Actor;
  /** Set while the user must choose a new password (`UserView.mustChangePassword`). */
  mustChangePassword: boolean;
}

/** Options of {@link buildHttpHost}. */
export interface HttpHostOptions {
  /** The application's ORM (`openSwlOrm()`, or the host's own). */
  orm: MikroORM;
  /** The desk's clock (default the system clock); a test passes a `ManualClock`. */
  clock?: Clock;
  /** One long-lived event bus for every request's services (default none). */
  events?: SwlEventBus;
  /** Fastify's logger option (default `false`). */
  logger?: boolean;
}

/** The route that stays open while a user must change the password. */
const CHANGE_PASSWORD = SWL_ROUTE_BY_NAME['users.changePassword'];

/**
 * The Fastify app of the desk: `POST /session` (sign-in), `DELETE /session` (sign-out),
 * `GET /openapi.json`, and one route per row of `SWL_ROUTES`. Not listening yet: call
 * `app.listen(...)`, or `app.inject(...)`.
 */
export function buildHttpHost({ orm, clock, events, logger = false }: HttpHostOptions): FastifyInstance {
  const app = Fastify({ logger });
  app.setErrorHandler(swlFastifyErrorHandler);
  // A 401 names the scheme to authenticate with (RFC 9110 §11.6.1; Bearer tokens, RFC 6750).
  app.addHook('onSend', async (_request, reply) => {
    if (reply.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="swl-desk"');
  });

  // Sessions in memory, by opaque random token. A real host keeps them in its own session store
  // (with expiry, revocation and a re-read of the user's role and `active` flag) — the package
  // authenticates the password; who is signed in is the host's business.
  const sessions = new Map<string, Session>();

  const sessionOf = (request: FastifyRequest): { token: string; session: Session } => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header);
    const session = match ? sessions.get(match[1] as string) : undefined;
    if (!match || !session) {
      throw new SwlError(
        'AUTH_FAILED',
        'sign in first (POST /session), then send Authorization: Bearer <token>',
        {},
      );
    }
    return { token: match[1] as string, session };
  };

  app.post('/session', async (request) => {
    const { users } = deskServices(orm, { clock, events });
    // The service validates the body (`{ login, password }`): VALIDATION_FAILED or AUTH_FAILED.
    const user = await users.authenticate(request.body as SignIn);
    const token = randomBytes(32).toString('base64url');
    sessions.set(token, {
      actor: { id: user.id, role: user.role },
      mustChangePassword: user.mustChangePassword,
    });
    return { token, user };
  });

  app.delete('/session', async (request, reply) => {
    sessions.delete(sessionOf(request).token);
    return reply.code(204).send();
  });

  const openapi = {
    openapi: '3.1.0',
    info: { title: 'SWL lending desk (example host)', version: '0.1.0' },
    paths: swlOpenApiPaths(),
  };
  app.get('/openapi.json', async () => openapi);

  for (const route of SWL_ROUTES) {
    app.route({
      method: route.http,
      url: route.path,
      handler: async (request, reply) => {
        const { session } = sessionOf(request);
        // Enforcing `mustChangePassword` is the host's: this one refuses everything but changing
        // the password until the user has chosen one.
        if (session.mustChangePassword && route !== CHANGE_PASSWORD) {
          throw new SwlError('FORBIDDEN', 'change your password first (POST /users/password)', {
            mustChangePassword: true,
          });
        }
        const input = parseRouteInput(route, {
          params: request.params,
          query: request.query,
          body: request.body,
        });
        const services = deskServices(orm, { clock, events });
        const result = await callRoute(services, route, session.actor, input);
        if (route === CHANGE_PASSWORD && (input.userId === undefined || input.userId === session.actor.id)) {
          session.mustChangePassword = false;
        }
        return reply.code(route.status).send(result);
      },
    });
  }
  return app;
}

// Run as a script: open the database of DATABASE_URL, make it ready, listen on loopback.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const orm = await openSwlOrm();
  const report = await initializeDatabase(orm);
  if (report.admin.generatedPassword) {
    console.log(`admin password (shown once): ${report.admin.generatedPassword}`);
  }
  const app = buildHttpHost({ orm, logger: true });
  const port = Number(process.env.PORT ?? 3000);
  const url = await app.listen({ host: '127.0.0.1', port });
  console.log(`SWL desk listening on ${url} — POST ${url}/session to sign in; GET ${url}/openapi.json`);
  const stop = async () => {
    await app.close();
    await orm.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
