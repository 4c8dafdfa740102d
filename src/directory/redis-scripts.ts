// Lua scripts of the Redis store. Each runs atomically inside Redis, which is what makes
// several stateless directory replicas safe: the seq check, both uniqueness checks, the record
// write, its index updates and the change event happen in one step, so two replicas racing on
// one hostname or node id cannot both win. Keys are built from the prefix inside the scripts;
// the default prefix carries a hash tag ({hubless:dir}) so on Redis Cluster they share a slot.
// Numbers written back go through string.format('%d') (Lua 5.1 would print 1.8e12 as a float).
import { createHash } from 'node:crypto';

const PRELUDE = `
local P = ARGV[1]
local function unindex(id, h, c, g)
  for name in string.gmatch(c, '[^\\n]+') do redis.call('ZREM', P .. 'ic:' .. name, id) end
  for name in string.gmatch(g, '[^\\n]+') do redis.call('ZREM', P .. 'ig:' .. name, id) end
  if h ~= '' and redis.call('GET', P .. 'h:' .. h) == id then redis.call('DEL', P .. 'h:' .. h) end
end
local function dash(s) if s == nil or s == false or s == '' then return '-' end return s end
-- Event layout: "<kind> <id> <newLease> <newLen> <oldLease> <oldLen>\\n" .. newBytes .. oldBytes
local function event(kind, id, nb, nl, ob, ol)
  nb = nb or ''
  ob = ob or ''
  redis.call('PUBLISH', P .. 'changes',
    kind .. ' ' .. id .. ' ' .. dash(nl) .. ' ' .. #nb .. ' ' .. dash(ol) .. ' ' .. #ob .. '\\n' .. nb .. ob)
end
`;

// ARGV: P id address bytes lease expiresAt seq pkhex hostname caps groups now keyExpireAt
const PUT = `
local id, host, pk = ARGV[2], ARGV[9], ARGV[8]
local lease, seq, now = tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[12])
if lease <= now then return {'EXPIRED'} end
local rk = P .. 'r:' .. id
local old = redis.call('HMGET', rk, 'b', 'l', 's', 'k', 'h', 'c', 'g')
if old[1] then
  if old[4] == pk then
    if seq <= tonumber(old[3]) then return {'STALE', old[3]} end
  elseif tonumber(old[2]) > now then
    return {'ADDRESS'}
  end
end
if host ~= '' then
  local holder = redis.call('GET', P .. 'h:' .. host)
  if holder and holder ~= id then
    local hv = redis.call('HMGET', P .. 'r:' .. holder, 'l', 'k', 'h')
    if hv[1] and hv[3] == host and hv[2] ~= pk and tonumber(hv[1]) > now then return {'HOSTNAME'} end
  end
end
if old[1] then
  unindex(id, old[5], old[6], old[7])
end
redis.call('HSET', rk, 'a', ARGV[3], 'b', ARGV[4], 'l', ARGV[5], 'x', ARGV[6], 's', ARGV[7],
  'k', pk, 'h', host, 'c', ARGV[10], 'g', ARGV[11])
redis.call('PEXPIREAT', rk, ARGV[13])
for name in string.gmatch(ARGV[10], '[^\\n]+') do redis.call('ZADD', P .. 'ic:' .. name, 0, id) end
for name in string.gmatch(ARGV[11], '[^\\n]+') do redis.call('ZADD', P .. 'ig:' .. name, 0, id) end
redis.call('ZADD', P .. 'all', 0, id)
redis.call('ZADD', P .. 'exp', lease, id)
if host ~= '' then redis.call('SET', P .. 'h:' .. host, id, 'PXAT', ARGV[13]) end
event('P', id, ARGV[4], ARGV[5], old[1], old[2])
return {'OK', old[1] or '', old[2] or ''}
`;

// ARGV: P id address leaseUntil now retentionMs
const RENEW = `
local id = ARGV[2]
local rk = P .. 'r:' .. id
local v = redis.call('HMGET', rk, 'a', 'l', 'x', 'h')
local now = tonumber(ARGV[5])
if not v[1] or v[1] ~= ARGV[3] or tonumber(v[2]) <= now then return 0 end
local lease = math.min(tonumber(ARGV[4]), tonumber(v[3]))
if lease > tonumber(v[2]) then
  local at = string.format('%d', lease + tonumber(ARGV[6]))
  redis.call('HSET', rk, 'l', string.format('%d', lease))
  redis.call('ZADD', P .. 'exp', lease, id)
  redis.call('PEXPIREAT', rk, at)
  if v[4] ~= '' and redis.call('GET', P .. 'h:' .. v[4]) == id then redis.call('PEXPIREAT', P .. 'h:' .. v[4], at) end
end
return 1
`;

// ARGV: P id address
const REMOVE = `
local id = ARGV[2]
local rk = P .. 'r:' .. id
local v = redis.call('HMGET', rk, 'a', 'b', 'l', 'h', 'c', 'g')
if not v[1] or v[1] ~= ARGV[3] then return 0 end
unindex(id, v[4], v[5], v[6])
redis.call('ZREM', P .. 'all', id)
redis.call('ZREM', P .. 'exp', id)
redis.call('DEL', rk)
event('R', id, '', '', v[2], v[3])
return 1
`;

// ARGV: P now batch. Takes each expired id exactly once, even with several replicas sweeping.
const SWEEP = `
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  local rk = P .. 'r:' .. id
  local v = redis.call('HMGET', rk, 'b', 'l', 'h', 'c', 'g')
  if not v[1] then
    -- The record's own TTL removed it first (no replica swept in time): drop what we can.
    redis.call('ZREM', P .. 'exp', id)
    redis.call('ZREM', P .. 'all', id)
  elseif tonumber(v[2]) > now then
    redis.call('ZADD', P .. 'exp', v[2], id)
  else
    unindex(id, v[3], v[4], v[5])
    redis.call('ZREM', P .. 'all', id)
    redis.call('ZREM', P .. 'exp', id)
    redis.call('DEL', rk)
    event('E', id, '', '', v[1], v[2])
    n = n + 1
  end
end
return {n, #ids}
`;

export interface LuaScript {
  lua: string;
  sha: string;
}

function script(body: string): LuaScript {
  const lua = PRELUDE + body;
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const SCRIPTS = {
  put: script(PUT),
  renew: script(RENEW),
  remove: script(REMOVE),
  sweep: script(SWEEP),
} as const;
