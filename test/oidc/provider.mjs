// A real OAuth 2.0 / OpenID Connect provider (oidc-provider, pinned in package-lock.json) for the Keyroom
// OAuth broker tests. It listens on 127.0.0.1 on a free port and prints one JSON line to stdout when ready:
//   {"ready":true,"issuer":"http://127.0.0.1:PORT", "authorization_endpoint":…, "token_endpoint":…, "userinfo_endpoint":…}
//
// Interactions are automatic (no browser, no forms): GET /interaction/{uid} logs in the account named by
// the authorization request's login_hint (default "test-user") and grants every requested scope. A
// login_hint of "deny" ends the interaction with access_denied instead. The redirect chain
// /auth → /interaction/{uid} → /auth/{uid} → … → redirect_uri?code=… is the provider's own, with its cookies.
//
// Clients (all: authorization_code + refresh_token, redirect_uri http://127.0.0.1/callback, PKCE S256 required):
//   keyroom-post    secret "post-secret",  token_endpoint_auth_method client_secret_post
//   keyroom-basic   secret "basic-secret", token_endpoint_auth_method client_secret_basic
//   keyroom-public  no secret,             token_endpoint_auth_method none
// Refresh tokens rotate on every use; reusing a rotated refresh token revokes the whole grant. Expiry is
// exact (clockTolerance 0), so an access token is refused at userinfo as soon as its TTL has passed.
//
// oidc-provider accepts client_secret_post and client_secret_basic interchangeably. To stand in for
// providers that accept only HTTP Basic, POST /token-basic-only answers 401 invalid_client to any request
// without an "Authorization: Basic" header and otherwise is the real /token endpoint.
//
// GET /__test/stats returns what the token endpoint saw:
//   {"token":{"authorization_code":n,"refresh_token":n},"errors":{"<grant_type>:<error>":n},"revoked":n,
//    "basic_only_rejections":n}
//
// Environment: OIDC_ACCESS_TOKEN_TTL (seconds, default 300). Stop it by closing its stdin or with SIGTERM.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const accessTokenTtl = Number.parseInt(process.env.OIDC_ACCESS_TOKEN_TTL ?? '300', 10);
const redirectUris = ['http://127.0.0.1/callback'];
const grantTypes = ['authorization_code', 'refresh_token'];

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'keyroom-post', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post', redirect_uris: redirectUris, grant_types: grantTypes, response_types: ['code'] },
    { client_id: 'keyroom-basic', client_secret: 'basic-secret', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: redirectUris, grant_types: grantTypes, response_types: ['code'] },
    { client_id: 'keyroom-public', token_endpoint_auth_method: 'none', redirect_uris: redirectUris, grant_types: grantTypes, response_types: ['code'] },
  ],
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: 'test' }] },
  cookies: { keys: ['keyroom-oidc-test-cookie-key'] },
  pkce: { required: () => true },
  clockTolerance: 0,
  rotateRefreshToken: true,
  scopes: ['openid', 'offline_access', 'profile'],
  ttl: {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 60,
    RefreshToken: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
    Interaction: 600,
    Session: 600,
    IdToken: 600,
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
});

const stats = { token: { authorization_code: 0, refresh_token: 0 }, errors: {}, revoked: 0, basic_only_rejections: 0 };
provider.on('grant.success', (ctx) => {
  const type = ctx.oidc.params.grant_type;
  stats.token[type] = (stats.token[type] ?? 0) + 1;
});
provider.on('grant.error', (ctx, error) => {
  const key = `${ctx.oidc?.params?.grant_type ?? 'unknown'}:${error.error ?? error.message}`;
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
});
provider.on('grant.revoked', () => {
  stats.revoked += 1;
});

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/__test/stats') {
    ctx.body = stats;
    return;
  }

  if (ctx.method === 'POST' && ctx.path === '/token-basic-only') {
    if (!/^Basic /i.test(ctx.get('authorization'))) {
      stats.basic_only_rejections += 1;
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="token"');
      ctx.body = { error: 'invalid_client', error_description: 'this endpoint accepts only client_secret_basic' };
      return;
    }

    ctx.path = '/token';
  }

  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    let result;
    if (params.login_hint === 'deny') {
      result = { error: 'access_denied', error_description: 'the test user declined' };
    } else if (prompt.name === 'login') {
      result = { login: { accountId: params.login_hint || 'test-user' } };
    } else if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'interaction_required', error_description: `unexpected prompt ${prompt.name}` };
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return;
  }

  await next();
});

server.on('request', provider.callback());

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

const discovery = {
  ready: true,
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}/token`,
  userinfo_endpoint: `${issuer}/me`,
};
process.stdout.write(`${JSON.stringify(discovery)}\n`);
