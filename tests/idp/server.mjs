// Test identity provider for flyte-auth's end-to-end tests: a real OpenID Provider
// (node `oidc-provider`, OpenID Certified) plus the Flyte discovery routes and a few
// test-only control routes, all served from one 127.0.0.1 port.
//
//   node server.mjs [--port N] [--access-ttl S] [--refresh-ttl S] [--device-ttl S]
//                   [--device-interval S] [--no-connect] [--redirect-uri URI]
//
// When listening it prints exactly one JSON line to stdout, {"port":N,"issuer":"..."},
// and runs until SIGTERM/SIGINT, or until stdin closes when stdin is a pipe (so it dies
// with the test process that spawned it).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as querystring from 'node:querystring';
import { parseArgs } from 'node:util';

// stdout carries exactly one machine-read line; oidc-provider prints NOTICEs with
// console.info, so send every other console output to stderr.
console.log = console.error;
console.info = console.error;

// Our counting middleware reads the token/device/revocation bodies before
// oidc-provider does (so it can count by grant_type), which makes oidc-provider warn
// once about an "already parsed request body". That is deliberate here: drop it.
const consoleWarn = console.warn;
console.warn = (...args) => {
  if (String(args[0]).includes('already parsed request body')) return;
  consoleWarn(...args);
};

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Command line

function parseCli() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'access-ttl': { type: 'string', default: '3600' },
      'refresh-ttl': { type: 'string', default: '86400' },
      'device-ttl': { type: 'string', default: '600' },
      'device-interval': { type: 'string' },
      'no-connect': { type: 'boolean', default: false },
      'redirect-uri': { type: 'string', default: 'http://localhost:53593/callback' },
    },
    strict: true,
  });
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  return {
    port: int('port'),
    accessTtl: int('access-ttl'),
    refreshTtl: int('refresh-ttl'),
    deviceTtl: int('device-ttl'),
    // oidc-provider's device authorization response has no `interval` (clients must
    // default to 5 s); tests that want faster polling can advertise one.
    deviceInterval: values['device-interval'] === undefined ? undefined : int('device-interval'),
    noConnect: values['no-connect'],
    redirectUri: values['redirect-uri'],
  };
}

const cli = parseCli();

// ---------------------------------------------------------------------------
// Constants shared by the provider configuration and the Flyte routes

/** The one resource server; every access token is a JWT for it. */
const RESOURCE = 'urn:flyte:api';
/** Scopes of that resource server (the OIDC scopes openid/offline_access are separate). */
const RESOURCE_SCOPES = ['all'];
const OIDC_SCOPES = ['openid', 'offline_access'];
const ALL_SCOPES = [...OIDC_SCOPES, ...RESOURCE_SCOPES];
const DEFAULT_ACCOUNT = 'alice';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PUBLIC_CLIENT_ID = 'flytectl';

const clients = [
  {
    client_id: 'ci-client',
    client_secret: 'ci-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'ci-client-2',
    client_secret: 'ci-secret-2',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: PUBLIC_CLIENT_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    // Native clients accept these on any loopback port (RFC 8252 §7.3).
    redirect_uris: ['http://localhost:53593/callback', 'http://127.0.0.1:53593/callback'],
  },
];

// ---------------------------------------------------------------------------
// Test bookkeeping

function zeroStats() {
  return {
    token_requests: {
      client_credentials: 0,
      refresh_token: 0,
      authorization_code: 0,
      [DEVICE_GRANT]: 0,
    },
    device_authorizations: 0,
    discovery_requests: 0,
    revocations: 0,
  };
}

let stats = zeroStats();

/** account id → grant ids we created, so /test/revoke-grants can find them. */
const grantsByAccount = new Map();

function rememberGrant(accountId, grantId) {
  if (!grantsByAccount.has(accountId)) grantsByAccount.set(accountId, new Set());
  grantsByAccount.get(accountId).add(grantId);
}

const epochTime = () => Math.floor(Date.now() / 1000);

function splitScope(scope) {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

/**
 * Grants `accountId` everything it asked for (known scopes only): this IdP never asks
 * for consent. Extends `existing` when it belongs to the same account.
 */
async function autoGrant(provider, { accountId, clientId, scope, existing }) {
  const grant = existing?.accountId === accountId
    ? existing
    : new provider.Grant({ accountId, clientId });
  const requested = splitScope(scope);
  const oidc = requested.filter((s) => OIDC_SCOPES.includes(s));
  const api = requested.filter((s) => RESOURCE_SCOPES.includes(s));
  if (oidc.length) grant.addOIDCScope(oidc.join(' '));
  // Always grant the resource, even for an empty scope: every access token is for it.
  grant.addResourceScope(RESOURCE, api.join(' '));
  const grantId = await grant.save();
  rememberGrant(accountId, grantId);
  return grant;
}

// ---------------------------------------------------------------------------
// Provider configuration

function providerConfiguration() {
  return {
    clients,
    // No `jwks`: oidc-provider's built-in development RSA key signs everything (RS256).
    // Generating a key here instead (generateKeyPairSync + export as JWK) deadlocks
    // Node 20 now and then: a GC during the export runs the KeyGenJob destructor, which
    // waits for the key mutex the export holds.
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    pkce: { required: () => true },
    // Reusing a rotated refresh token must fail (and revoke the grant).
    rotateRefreshToken: true,
    // By default oidc-provider drops offline_access unless prompt=consent; issue
    // refresh tokens to every client allowed to use them, like hosted IdPs do.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
      const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      return autoGrant(oidc.provider, {
        accountId: oidc.account.accountId,
        clientId: oidc.client.clientId,
        scope: oidc.params.scope,
        existing,
      });
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: () => cli.accessTtl,
      ClientCredentials: () => cli.accessTtl,
      RefreshToken: () => cli.refreshTtl,
      DeviceCode: () => cli.deviceTtl,
      IdToken: () => cli.accessTtl,
      // A grant must outlive every refresh token issued under it.
      Grant: () => cli.refreshTtl + 30 * 24 * 3600,
      Session: () => 14 * 24 * 3600,
      Interaction: () => 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      // ci-client (confidential) may introspect tokens of any client; that is
      // oidc-provider's default allowedPolicy, spelled out because the tests rely on it.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => (
          client.clientAuthMethod !== 'none' || token.clientId === client.clientId
        ),
      },
      // Access tokens are only JWTs when they are issued for a resource server.
      // Every request gets RESOURCE by default; Flyte clients' `audience` is ignored.
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPES.join(' '),
            audience: RESOURCE,
            accessTokenTTL: cli.accessTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------
// Small HTTP helpers for our own routes (oidc-provider parses its own bodies)

const BODY_LIMIT = 56 * 1024;

async function readRawBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Query parameters merged with a JSON or form body. */
async function readParams(ctx) {
  const raw = (await readRawBody(ctx.req)).toString('utf8');
  let body = {};
  if (raw.trim()) {
    body = ctx.is('application/json') ? JSON.parse(raw) : querystring.parse(raw);
  }
  return { ...ctx.query, ...body };
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

// ---------------------------------------------------------------------------
// Middleware: count requests before oidc-provider sees them

const COUNTED = new Map([
  ['/token', (body) => {
    const grant = String(body.grant_type ?? '');
    stats.token_requests[grant] = (stats.token_requests[grant] ?? 0) + 1;
  }],
  ['/device/auth', () => { stats.device_authorizations += 1; }],
  ['/token/revocation', () => { stats.revocations += 1; }],
]);

async function countRequests(ctx, next) {
  const count = ctx.method === 'POST' ? COUNTED.get(ctx.path) : undefined;
  if (count) {
    const raw = await readRawBody(ctx.req);
    count(ctx.is('application/x-www-form-urlencoded') ? querystring.parse(raw.toString('utf8')) : {});
    // oidc-provider falls back to req.body when the stream was already consumed.
    ctx.req.body = raw;
  }
  await next();
}

// ---------------------------------------------------------------------------
// Middleware: keep offline_access on authorization requests

// oidc-provider silently drops offline_access from /auth requests without
// prompt=consent. Flyte clients never send a prompt, and our interactions are
// headless anyway (native clients always go through consent), so add it.
async function keepOfflineAccess(ctx, next) {
  if (ctx.method === 'GET' && ctx.path === '/auth') {
    const { scope, prompt } = ctx.query;
    if (prompt === undefined && splitScope(scope).includes('offline_access')) {
      ctx.query = { ...ctx.query, prompt: 'consent' };
    }
  }
  await next();
}

// ---------------------------------------------------------------------------
// Routes that are not oidc-provider's

function flyteMetadata(provider) {
  return {
    issuer: provider.issuer,
    authorization_endpoint: provider.urlFor('authorization'),
    token_endpoint: provider.urlFor('token'),
    jwks_uri: provider.urlFor('jwks'),
    device_authorization_endpoint: provider.urlFor('device_authorization'),
    revocation_endpoint: provider.urlFor('revocation'),
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ALL_SCOPES,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
  };
}

function flyteClientConfig() {
  // Field set and names of flyteadmin's grpc-gateway JSON (UseProtoNames, EmitUnpopulated).
  return {
    client_id: PUBLIC_CLIENT_ID,
    redirect_uri: cli.redirectUri,
    scopes: ALL_SCOPES,
    authorization_metadata_key: 'flyte-authorization',
    service_http_endpoint: '',
    audience: '',
  };
}

/**
 * protojson rendering of a snake_case message: camelCase names, empty fields omitted
 * (as Flyte 2's Connect handlers answer). The proto has no revocation_endpoint.
 */
function protojson(message) {
  const out = {};
  for (const [key, value] of Object.entries(message)) {
    if (key === 'revocation_endpoint' || value === '' || value === undefined) continue;
    out[key.replace(/_([a-z])/g, (_m, c) => c.toUpperCase())] = value;
  }
  return out;
}

const CONNECT_SERVICE = '/flyteidl2.auth.AuthMetadataService/';

async function connectRoute(ctx, provider, method) {
  stats.discovery_requests += 1;
  if (cli.noConnect) {
    // What a Flyte 1 server (no Connect handler) answers.
    json(ctx, 404, { code: 'unimplemented', message: `${ctx.path} is disabled (--no-connect)` });
    return;
  }
  if (!ctx.is('application/json')) {
    json(ctx, 415, { code: 'invalid_argument', message: 'only the Connect JSON codec is served here' });
    return;
  }
  await readRawBody(ctx.req);
  const message = method === 'GetOAuth2Metadata' ? flyteMetadata(provider) : flyteClientConfig();
  json(ctx, 200, protojson(message));
}

async function findDeviceCode(provider, ctx, userCode) {
  // oidc-provider stores user codes normalized: upper case, no separators.
  const normalized = String(userCode ?? '').toUpperCase().replace(/\W/g, '');
  const code = normalized
    ? await provider.DeviceCode.findByUserCode(normalized, { ignoreExpiration: true })
    : undefined;
  if (!code) {
    json(ctx, 404, { error: 'not_found', message: `unknown user_code ${JSON.stringify(userCode)}` });
    return undefined;
  }
  if (code.isExpired) {
    json(ctx, 410, { error: 'expired', message: `user_code ${userCode} has expired` });
    return undefined;
  }
  if (code.accountId || code.error || code.consumed) {
    json(ctx, 409, { error: 'already_used', message: `user_code ${userCode} was already approved, denied or used` });
    return undefined;
  }
  return code;
}

async function approveDevice(ctx, provider) {
  const params = await readParams(ctx);
  const code = await findDeviceCode(provider, ctx, params.user_code);
  if (!code) return;
  const accountId = params.account || DEFAULT_ACCOUNT;
  const requested = code.params?.scope;
  const grant = await autoGrant(provider, { accountId, clientId: code.clientId, scope: requested });
  // The same fields oidc-provider sets when a user finishes the device flow in a browser.
  Object.assign(code, {
    accountId,
    grantId: grant.jti,
    authTime: epochTime(),
    scope: splitScope(requested).filter((s) => ALL_SCOPES.includes(s)).join(' ') || undefined,
    resource: RESOURCE,
  });
  await code.save();
  json(ctx, 200, { approved: true, account: accountId });
}

async function denyDevice(ctx, provider) {
  const params = await readParams(ctx);
  const code = await findDeviceCode(provider, ctx, params.user_code);
  if (!code) return;
  Object.assign(code, { error: 'access_denied', errorDescription: 'End-User denied the request' });
  await code.save();
  json(ctx, 200, { denied: true });
}

async function revokeGrants(ctx, provider) {
  const params = await readParams(ctx);
  const accountId = params.account || DEFAULT_ACCOUNT;
  const grantIds = [...(grantsByAccount.get(accountId) ?? [])];
  const models = [
    provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode, provider.DeviceCode,
  ];
  for (const grantId of grantIds) {
    await Promise.all(models.map((model) => model.revokeByGrantId(grantId)));
    await provider.Grant.adapter.destroy(grantId);
  }
  grantsByAccount.delete(accountId);
  json(ctx, 200, { account: accountId, revoked_grants: grantIds.length });
}

/** Headless login + consent: no pages, straight back to the authorization endpoint. */
async function finishInteraction(ctx, provider) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { params, session } = details;
  const accountId = session?.accountId || params.login_hint || DEFAULT_ACCOUNT;
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = await autoGrant(provider, {
    accountId, clientId: params.client_id, scope: params.scope, existing,
  });
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId },
    consent: { grantId: grant.jti },
  }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

function routes(provider) {
  const exact = new Map([
    ['GET /.well-known/oauth-authorization-server', (ctx) => {
      // Shadows oidc-provider's own RFC 8414 document: Flyte clients read this one.
      stats.discovery_requests += 1;
      json(ctx, 200, flyteMetadata(provider));
    }],
    ['GET /config/v1/flyte_client', (ctx) => {
      stats.discovery_requests += 1;
      json(ctx, 200, flyteClientConfig());
    }],
    [`POST ${CONNECT_SERVICE}GetOAuth2Metadata`, (ctx) => connectRoute(ctx, provider, 'GetOAuth2Metadata')],
    [`POST ${CONNECT_SERVICE}GetPublicClientConfig`, (ctx) => connectRoute(ctx, provider, 'GetPublicClientConfig')],
    ['GET /test/stats', (ctx) => json(ctx, 200, stats)],
    ['POST /test/reset', (ctx) => { stats = zeroStats(); json(ctx, 200, stats); }],
    ['POST /test/device/approve', (ctx) => approveDevice(ctx, provider)],
    ['POST /test/device/deny', (ctx) => denyDevice(ctx, provider)],
    ['POST /test/revoke-grants', (ctx) => revokeGrants(ctx, provider)],
  ]);

  return async function route(ctx, next) {
    const handler = exact.get(`${ctx.method} ${ctx.path}`);
    if (handler) return handler(ctx);
    if (ctx.method === 'GET' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
      return finishInteraction(ctx, provider);
    }
    return next();
  };
}

// ---------------------------------------------------------------------------
// Startup

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function main() {
  // The issuer carries the port, so bind first and build the provider afterwards.
  const server = http.createServer();
  const port = await listen(server, cli.port);
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, providerConfiguration());
  provider.use(countRequests);
  provider.use(keepOfflineAccess);
  provider.use(routes(provider));

  if (cli.deviceInterval !== undefined) {
    // Emitted before the response is written, so the body can still be extended.
    provider.on('device_authorization.success', (_ctx, body) => {
      body.interval = cli.deviceInterval;
    });
  }
  provider.on('server_error', (_ctx, err) => console.error('server_error:', err));

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ port, issuer })}\n`);

  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A parent that gives us a pipe as stdin holds it open; when the parent goes away,
  // so do we. Only for pipes: `</dev/null` (scripts, background jobs) must not stop us.
  const stdin = fs.fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
}

await main();
