-- Adds tokens counted outside Redis (admitted in memory during an outage) to an org's monthly
-- counter, only if the counter exists: a missing one is rebuilt from the ledger's rollups at the
-- next admission (admission.lua), and those already hold that usage.
-- KEYS: 1 monthly tokens. ARGV: 1 tokens to add (negative gives back).
-- Returns 1 when added, 0 when the counter was missing.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
