// Peer OpenID Connect provider for the biblogin benchmark: node-oidc-provider (panva) configured as for
// production, behind the cluster module so it is comparable to a multi-worker gunicorn.
//
// Environment:
//   PORT              listen port on 127.0.0.1 (required); issuer is http://127.0.0.1:<PORT>
//   WORKERS           worker processes (default: os.availableParallelism())
//   REDIS_URL         storage (default redis://127.0.0.1:6379/15); keys live under a per-run prefix
//                     that the primary deletes again on shutdown
//   PEER_JWKS_FILE    optional JSON {"keys":[<private RSA JWK>]}; otherwise one RSA-2048 key is
//                     generated per run by the primary and shared with every worker
//   PEER_COOKIE_KEY   optional cookie signing key; otherwise random per run
//   BENCH_CLIENT_SECRET  secret of client "bench" (default "bench-secret")
//   PEER_ACCESS_TOKEN_SECONDS / PEER_REFRESH_TOKEN_SECONDS  lifetimes (default 3600 / 28800, as ours)
//
// Interaction routes (login/consent) are deliberately minimal: the benchmark measures the token and
// userinfo endpoints, and the peer's devInteractions are off as the library requires in production.
//   GET  /interaction/:uid          -> JSON {uid, prompt, missingScopes}
//   POST /interaction/:uid/login    form: login=<account id>   (any id is accepted)
//   POST /interaction/:uid/confirm  grants exactly what the prompt asks for
import cluster from 'node:cluster';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';

import Provider, { errors } from 'oidc-provider';

import { RedisAdapter, accountGet, accountPut, redisAdapterConnect, redisAdapterPurge } from './redis-adapter.mjs';

const PORT = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error('oidc-peer: set PORT to a TCP port (1-65535)');
  process.exit(2);
}
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15';

if (process.env.NODE_ENV !== 'production') {
  // Koa and oidc-provider change behaviour (error detail, warnings) with NODE_ENV; measure production.
  console.error('oidc-peer: refusing to start without NODE_ENV=production');
  process.exit(2);
}

if (cluster.isPrimary) {
  const workers = Number.parseInt(process.env.WORKERS ?? String(os.availableParallelism()), 10);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error('oidc-peer: WORKERS must be a positive integer');
    process.exit(2);
  }
  // Every worker must sign with the same key and the same cookie key, or tokens/cookies issued by
  // one worker would be rejected by another.
  let jwks;
  if (process.env.PEER_JWKS_FILE) {
    jwks = JSON.parse(fs.readFileSync(process.env.PEER_JWKS_FILE, 'utf8'));
  } else {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    jwks = { keys: [{ ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' }] };
  }
  const prefix = `oidc-peer:${crypto.randomBytes(6).toString('hex')}:`;
  const shared = {
    PEER_SHARED_JWKS: JSON.stringify(jwks),
    PEER_SHARED_COOKIE_KEY: process.env.PEER_COOKIE_KEY ?? crypto.randomBytes(32).toString('base64url'),
    PEER_SHARED_PREFIX: prefix,
  };

  let stopping = false;
  for (let i = 0; i < workers; i += 1) cluster.fork(shared);
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`oidc-peer: worker ${worker.process.pid} died (${signal ?? code}); stopping`);
      shutdown(1);
    }
  });

  let online = 0;
  cluster.on('listening', () => {
    online += 1;
    if (online === workers) {
      console.log(JSON.stringify({
        event: 'ready', issuer: ISSUER, workers, pid: process.pid, redis: REDIS_URL, prefix,
        node: process.version,
      }));
    }
  });

  async function shutdown(code) {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    await Promise.all(Object.values(cluster.workers).map((w) => new Promise((resolve) => {
      if (w.isDead()) resolve(); else w.once('exit', resolve);
    })));
    try {
      const deleted = await redisAdapterPurge({ url: REDIS_URL, prefix });
      console.log(JSON.stringify({ event: 'stopped', deletedKeys: deleted }));
    } catch (err) {
      console.error(`oidc-peer: could not purge Redis keys under ${prefix}: ${err.message}`);
    }
    process.exit(code);
  }
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
} else {
  await runWorker();
}

async function runWorker() {
  redisAdapterConnect({ url: REDIS_URL, prefix: process.env.PEER_SHARED_PREFIX });

  const configuration = {
    adapter: RedisAdapter,
    clients: [{
      client_id: 'bench',
      client_secret: process.env.BENCH_CLIENT_SECRET ?? 'bench-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:1/cb'],
      scope: 'openid profile offline_access',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: JSON.parse(process.env.PEER_SHARED_JWKS),
    cookies: { keys: [process.env.PEER_SHARED_COOKIE_KEY] },
    scopes: ['openid', 'profile', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'updated_at'],
    },
    findAccount,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
    // PKCE required for every client, S256 only.
    pkce: { required: () => true, methods: ['S256'] },
    responseTypes: ['code'],
    // Same policy as ours: every refresh-token use rotates it.
    rotateRefreshToken: true,
    // Lifetimes default to ours (config/settings.py: access 1 h, refresh 8 h, codes 60 s).
    ttl: {
      AccessToken: seconds('PEER_ACCESS_TOKEN_SECONDS', 3600),
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: seconds('PEER_REFRESH_TOKEN_SECONDS', 8 * 3600),
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    // Server-to-server benchmark clients: no browser CORS.
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };

  const provider = new Provider(ISSUER, configuration);
  // No reverse proxy in front of the peer: do not trust X-Forwarded-*.
  provider.proxy = false;
  provider.on('server_error', (ctx, err) => console.error('oidc-peer server_error', err));

  const providerCallback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      handleInteraction(provider, req, res).catch((err) => {
        const status = err instanceof errors.OIDCProviderError ? err.status : 500;
        if (status === 500) console.error('oidc-peer interaction error', err);
        sendJson(res, status, { error: err.error ?? 'server_error', error_description: err.error_description ?? err.message });
      });
      return;
    }
    providerCallback(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(PORT, HOST);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function seconds(name, fallback) {
  const value = Number.parseInt(process.env[name] ?? String(fallback), 10);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

async function findAccount(ctx, sub) {
  // As a real deployment does: the account is read from the store (Redis, under this run's
  // prefix) on every look-up; an unknown account id is no account (issue 14, item 5).
  const account = await accountGet(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, ...account };
    },
  };
}

function accountProfile(sub) {
  return {
    name: `Bench Patron ${sub}`,
    given_name: 'Bench',
    family_name: `Patron ${sub}`,
    preferred_username: sub,
    locale: 'da-DK',
    updated_at: 1700000000,
  };
}

async function handleInteraction(provider, req, res) {
  const url = new URL(req.url, ISSUER);
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(url.pathname);
  if (!match) return sendJson(res, 404, { error: 'not_found' });
  const [, uid, action] = match;

  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return sendJson(res, 400, { error: 'invalid_request', error_description: 'interaction mismatch' });
  const { prompt, params } = details;

  if (!action && req.method === 'GET') {
    return sendJson(res, 200, { uid, prompt: prompt.name, reasons: prompt.reasons, scope: params.scope });
  }
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });

  if (action === 'login') {
    if (prompt.name !== 'login') return sendJson(res, 400, { error: 'invalid_request', error_description: `prompt is ${prompt.name}` });
    const form = new URLSearchParams(await readBody(req));
    const login = (form.get('login') ?? '').trim();
    if (!/^[\w.@-]{1,64}$/.test(login)) return sendJson(res, 400, { error: 'invalid_request', error_description: 'login must be 1-64 of [A-Za-z0-9_.@-]' });
    // The login creates the account record if it is new; findAccount reads it from Redis.
    await accountPut(login, accountProfile(login));
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }

  // action === 'confirm'
  if (prompt.name !== 'consent') return sendJson(res, 400, { error: 'invalid_request', error_description: `prompt is ${prompt.name}` });
  await readBody(req);
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 8192) {
        reject(new errors.InvalidRequest('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, body) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
