-- The fleet rate limiter: the generic cell rate algorithm (a token bucket
-- kept as one timestamp, the theoretical arrival time), in one string key
-- shared by every process of the fleet. gcraStep in gcra.go is the same
-- algorithm in Go; the limiter's local fallback runs it.
--
-- KEYS[1]  the limiter's key: the theoretical arrival time, microseconds
-- ARGV[1]  now in microseconds since the Unix epoch, or '' for the
--          server's clock (TIME); now.lua, run first, reads it into now
-- ARGV[2]  emission interval: microseconds per attempt
-- ARGV[3]  tolerance: burst * interval, microseconds
-- ARGV[4]  attempts to admit (at least 1)
--
-- Returns 0 when admitted, else how many microseconds until the attempts
-- would be admitted (at least 1).
local interval = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
	tat = now
end
local nextTat = tat + cost * interval
local over = nextTat - now - tau
if over > 0 then
	return over
end
redis.call('SET', KEYS[1], nextTat, 'PX', math.ceil((nextTat - now) / 1000) + 1)
return 0
