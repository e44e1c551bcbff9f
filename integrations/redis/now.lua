-- The prelude of every script: the time of the decision, in microseconds
-- since the Unix epoch. ARGV[1] carries the client's clock, or is empty for
-- the server's (TIME), which keeps every process of the fleet on one clock.
local now
if ARGV[1] == '' then
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
	now = tonumber(ARGV[1])
end
