-- Admission of one inference request: checks every limit and, only if all pass, reserves in one
-- atomic step (limiter.ts documents the semantics; memory-admissions.ts is the same in-process).
-- KEYS: 1 in-flight set, 2 key requests, 3 key tokens, 4 org requests, 5 org tokens, 6 monthly tokens
-- ARGV: 1 reservation id, 2 tokens to reserve, 3 concurrency limit, 4 key requests/min,
--       5 key tokens/min, 6 org requests/min, 7 org tokens/min, 8 monthly limit,
--       9 in-flight safety TTL (ms), 10 monthly counter TTL (s), 11 ms until the month ends,
--       12 the month's tokens so far, to start a missing monthly counter with ('' = not known yet)
-- Returns: { outcome, retry ms, requests limit, remaining, reset ms, tokens limit, remaining,
--            reset ms, monthly tokens used }. outcome 0 admitted; else the first limit that refused:
--            1 concurrency, 2 key requests, 3 key tokens, 4 org requests, 5 org tokens, 6 monthly;
--            7: the monthly counter is missing and ARGV[12] is '' (nothing reserved: ask again
--            with the month's tokens from the ledger's rollups).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local reserve = tonumber(ARGV[2])

-- Token buckets that refill to `cap` in one minute, stored as level `l` at time `t` (ms).
local function level(key, cap)
  local stored = redis.call('HMGET', key, 'l', 't')
  local l = tonumber(stored[1])
  if not l then return cap end
  return math.min(cap, l + (now - tonumber(stored[2])) * cap / 60000)
end
local function msToFill(cap, l, wanted)
  return math.max(0, math.ceil((wanted - l) * 60000 / cap))
end

local caps = { tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]) }
local costs = { 1, reserve, 1, reserve }
local levels = {}
for i = 1, 4 do levels[i] = level(KEYS[i + 1], caps[i]) end

-- Headers report the bucket with less left, key or org: requests are buckets 1 and 3, tokens 2 and 4.
local function report(outcome, retryMs, monthUsed)
  local r = (levels[1] <= levels[3]) and 1 or 3
  local t = (levels[2] <= levels[4]) and 2 or 4
  return { outcome, retryMs,
    caps[r], math.max(0, math.floor(levels[r])), msToFill(caps[r], levels[r], caps[r]),
    caps[t], math.max(0, math.floor(levels[t])), msToFill(caps[t], levels[t], caps[t]),
    monthUsed }
end

-- In-flight reservations, scored by when they expire: a replica that dies before settling holds its
-- slots for the safety TTL only. Expired entries stay an hour (a late settle still finds them).
local inflight = KEYS[1]
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now - 3600000)
if redis.call('ZCOUNT', inflight, now, '+inf') >= tonumber(ARGV[3]) then return report(1, 1000, 0) end

for i = 1, 4 do
  if levels[i] < costs[i] then
    -- A reservation above the whole bucket never fits: the wait reported is until it is full.
    return report(i + 1, msToFill(caps[i], levels[i], math.min(costs[i], caps[i])), 0)
  end
end

-- A missing counter (Redis restarted or flushed, or the month's first request) starts from the
-- ledger's count; when replicas race, the first seed wins and the others' are ignored.
local stored = redis.call('GET', KEYS[6])
if not stored then
  if ARGV[12] == '' then return report(7, 0, 0) end
  redis.call('SET', KEYS[6], ARGV[12], 'EX', tonumber(ARGV[10]))
  stored = ARGV[12]
end
local monthUsed = tonumber(stored)
if monthUsed + reserve > tonumber(ARGV[8]) then return report(6, tonumber(ARGV[11]), monthUsed) end

for i = 1, 4 do
  levels[i] = levels[i] - costs[i]
  redis.call('HSET', KEYS[i + 1], 'l', levels[i], 't', now)
  redis.call('PEXPIRE', KEYS[i + 1], msToFill(caps[i], levels[i], caps[i]) + 1000)
end
redis.call('ZADD', inflight, now + tonumber(ARGV[9]), ARGV[1])
redis.call('PEXPIRE', inflight, tonumber(ARGV[9]) + 3600000)
redis.call('INCRBY', KEYS[6], reserve)
redis.call('EXPIRE', KEYS[6], tonumber(ARGV[10]))
return report(0, 0, monthUsed + reserve)
