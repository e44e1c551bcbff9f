-- The fleet ratio retry budget: the algorithm of budget.RatioBudget (a
-- sliding window of buckets counting first attempts and retry units), kept
-- in one hash so that every process of the fleet shares it. Redis runs a
-- script atomically, so checking and counting are one step.
--
-- KEYS[1]  the budget's hash: fields i<slot> (the bucket index a slot
--          holds), a<slot> (first attempts), b<slot> (retry units)
-- ARGV[1]  now in microseconds since the Unix epoch, or '' for the
--          server's clock (TIME); now.lua, run first, reads it into now
-- ARGV[2]  bucket width in microseconds
-- ARGV[3]  buckets in the window
-- ARGV[4]  ratio of first attempts that may be retried
-- ARGV[5]  floor: retry units the window allows whatever the traffic
-- ARGV[6]  0 for a first attempt, else the retry's cost in units
--
-- Returns 1 (first attempt, counted), 2 (retry within the ratio, counted),
-- 0 (retry over the ratio, not counted), 3 (first attempt older than the
-- window: allowed, not counted).
local width = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local cost = tonumber(ARGV[6])
local h = KEYS[1]
local idx = math.floor(now / width)
local slot = idx % n
local fi, fa, fb = 'i' .. slot, 'a' .. slot, 'b' .. slot

-- Move the slot on to the current bucket, or find the caller behind it.
local cur = tonumber(redis.call('HGET', h, fi))
if cur == nil or cur < idx then
	redis.call('HSET', h, fi, idx, fa, 0, fb, 0)
elseif cur > idx then
	if cost == 0 then
		return 3
	end
	return 0
end
redis.call('PEXPIRE', h, math.ceil(width * (n + 1) / 1000))

if cost == 0 then
	redis.call('HINCRBY', h, fa, 1)
	return 1
end

-- Sum the window ending at the current bucket.
local lo = idx - n
local bidx, a, b = {}, {}, {}
local all = redis.call('HGETALL', h)
for j = 1, #all, 2 do
	local f = all[j]
	local s = string.sub(f, 2)
	local kind = string.sub(f, 1, 1)
	local v = tonumber(all[j + 1])
	if kind == 'i' then
		bidx[s] = v
	elseif kind == 'a' then
		a[s] = v
	else
		b[s] = v
	end
end
local req, ret = 0, 0
for s, i in pairs(bidx) do
	if i > lo and i <= idx then
		req = req + (a[s] or 0)
		ret = ret + (b[s] or 0)
	end
end
local limit = tonumber(ARGV[4]) * req
local floor = tonumber(ARGV[5])
if limit < floor then
	limit = floor
end
if ret + cost <= limit then
	redis.call('HINCRBY', h, fb, cost)
	return 2
end
return 0
