// Redis storage adapter for node-oidc-provider, written for the benchmark peer.
//
// The library ships only an in-memory adapter (an LRU of 1000 entries, per process) and documents it
// as development-only; for production it asks you to supply your own adapter and points to example
// adapters (Redis, MongoDB, SQL). With the cluster module every worker is a separate process, so a
// shared store is required anyway: a token issued by worker A must be found by worker B.
//
// Layout (all keys under PREFIX, one ioredis connection per worker):
//   <Model>:<id>           JSON string; for consumable models a hash {payload, consumed}
//   grant:<grantId>        list of token keys issued under that grant (for revokeByGrantId)
//   sessionUid:<uid>       id of the Session with that uid
//   userCode:<code>        id of the DeviceCode with that user code
//   Account:<accountId>    the account's profile (JSON), read by findAccount on every look-up
// Every key gets the expiry the provider asks for, so Redis cleans up after itself.
import { Redis } from 'ioredis';

// Models whose records are marked "consumed" rather than deleted (single-use codes, rotated refresh tokens).
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
// Models whose records belong to a grant and must disappear when the grant is revoked.
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

let client;

/** Open the shared connection; call once per process before the provider handles requests. */
export function redisAdapterConnect({ url, prefix }) {
  client = new Redis(url, { keyPrefix: prefix, enableAutoPipelining: true });
  return client;
}

/** Delete every key under the given prefix (the bench run's own keys only). */
export async function redisAdapterPurge({ url, prefix }) {
  const admin = new Redis(url);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await admin.unlink(...keys);
  } while (cursor !== '0');
  await admin.quit();
  return deleted;
}

/** The account record of ``accountId`` (JSON under Account:<id>), or undefined. */
export async function accountGet(accountId) {
  const raw = await client.get(`Account:${accountId}`);
  return raw ? JSON.parse(raw) : undefined;
}

/** Store an account record (no expiry: accounts outlive sessions; the run purges its prefix). */
export async function accountPut(accountId, profile) {
  await client.set(`Account:${accountId}`, JSON.stringify(profile));
}

export class RedisAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = client.multi();
    if (CONSUMABLE.has(this.name)) {
      // A re-upsert replaces the record, including any earlier consumed mark.
      multi.del(key);
      multi.hset(key, 'payload', JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
    } else if (expiresIn) {
      multi.set(key, JSON.stringify(payload), 'EX', expiresIn);
    } else {
      multi.set(key, JSON.stringify(payload));
    }

    if (GRANTABLE.has(this.name) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      multi.rpush(grantKey, key);
      if (expiresIn) {
        // NX sets the expiry of a fresh list, GT only ever extends it (Redis >= 7): the list lives
        // as long as its longest-lived member without an extra TTL round trip.
        multi.expire(grantKey, expiresIn, 'NX');
        multi.expire(grantKey, expiresIn, 'GT');
      }
    }
    if (this.name === 'Session' && payload.uid) {
      const uidKey = `sessionUid:${payload.uid}`;
      if (expiresIn) multi.set(uidKey, id, 'EX', expiresIn);
      else multi.set(uidKey, id);
    }
    if (payload.userCode) {
      const codeKey = `userCode:${payload.userCode}`;
      if (expiresIn) multi.set(codeKey, id, 'EX', expiresIn);
      else multi.set(codeKey, id);
    }
    await multi.exec();
  }

  async find(id) {
    if (!id) return undefined;
    if (CONSUMABLE.has(this.name)) {
      const record = await client.hgetall(this.key(id));
      if (!record || !record.payload) return undefined;
      const payload = JSON.parse(record.payload);
      if (record.consumed) payload.consumed = Number(record.consumed);
      return payload;
    }
    const raw = await client.get(this.key(id));
    return raw ? JSON.parse(raw) : undefined;
  }

  async findByUid(uid) {
    return this.find(await client.get(`sessionUid:${uid}`));
  }

  async findByUserCode(userCode) {
    return this.find(await client.get(`userCode:${userCode}`));
  }

  async consume(id) {
    // HSET on a missing key would create a payload-less hash; only mark records that exist.
    await client.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], 'consumed', ARGV[1]) end return 0",
      1,
      this.key(id),
      Math.floor(Date.now() / 1000),
    );
  }

  async destroy(id) {
    await client.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    const members = await client.lrange(grantKey, 0, -1);
    const multi = client.multi();
    for (const member of members) multi.del(member);
    multi.del(grantKey);
    await multi.exec();
  }
}
