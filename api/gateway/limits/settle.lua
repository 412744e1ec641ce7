-- Settlement of one admission (admission.lua): releases its in-flight slot and gives back to the
-- token buckets and the monthly counter what it reserved but did not use (or takes what it used
-- beyond). Applied once: only while its in-flight entry exists, so a repeated or a stray settle
-- (of an admission that never reached Redis) changes nothing.
-- KEYS: 1 in-flight set, 2 key tokens, 3 org tokens, 4 monthly tokens
-- ARGV: 1 reservation id, 2 tokens to give back (reserved - used; negative takes more),
--       3 key tokens/min, 4 org tokens/min
-- Returns 1 when applied, 0 when there was nothing to settle.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local refund = tonumber(ARGV[2])
if refund == 0 then return 1 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 2, 3 do
  local cap = tonumber(ARGV[i + 1])
  local stored = redis.call('HMGET', KEYS[i], 'l', 't')
  local l = tonumber(stored[1])
  l = l and math.min(cap, l + (now - tonumber(stored[2])) * cap / 60000) or cap
  l = math.min(cap, l + refund)
  redis.call('HSET', KEYS[i], 'l', l, 't', now)
  redis.call('PEXPIRE', KEYS[i], math.max(0, math.ceil((cap - l) * 60000 / cap)) + 1000)
end
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('INCRBY', KEYS[4], -refund) end
return 1
