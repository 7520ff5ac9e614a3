-- wrk.lua — the wrk script for every `make bench` scenario. It counts the
-- responses by status and prints one machine-readable line for
-- bench/run.sh. The request comes from the environment:
--   BENCH_METHOD, BENCH_BODY    method and body (default GET, none)
--   BENCH_KEY                   one Idempotency-Key for every request
--   BENCH_KEY_PREFIX            a new key per request: PREFIX-thread-counter
--   BENCH_SKUS                  with BENCH_KEY_PREFIX: each order is of one
--                               of BENCH-P1 ... BENCH-P<SKUS>, at random
--   BENCH_TOKENS                bearer tokens, space-separated: the requests
--                               take turns (else the Authorization of -H)
-- Other headers (Authorization, Content-Type) come from wrk's -H.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
if os.getenv("BENCH_KEY") then
	wrk.headers["Idempotency-Key"] = os.getenv("BENCH_KEY")
end

local threads = {}
local next_id = 0

-- Runs in wrk's main interpreter, once per thread, before init.
function setup(thread)
	next_id = next_id + 1
	thread:set("thread_id", next_id)
	table.insert(threads, thread)
end

-- Empty is unset: run.sh passes BENCH_KEY_PREFIX on, suffixed, only if set.
local prefix = os.getenv("BENCH_KEY_PREFIX")
if prefix == "" then prefix = nil end
local counter = 0
statuses = {}

-- Defined only when keys must be unique: a request function makes wrk
-- call Lua for every request, which the static scenarios do without.
local skus = tonumber(os.getenv("BENCH_SKUS") or "")

function init(args)
	math.randomseed(os.time() * 16 + (thread_id or 0))
end

local tokens = {}
for token in (os.getenv("BENCH_TOKENS") or ""):gmatch("%S+") do
	table.insert(tokens, token)
end

if prefix or #tokens > 0 then
	function request()
		counter = counter + 1
		if #tokens > 0 then
			wrk.headers["Authorization"] =
			    "Bearer " .. tokens[counter % #tokens + 1]
		end
		if not prefix then
			return wrk.format()
		end
		wrk.headers["Idempotency-Key"] =
		    prefix .. "-" .. thread_id .. "-" .. counter
		if skus then
			return wrk.format(nil, nil, nil, string.format(
			    '{"items":[{"sku":"BENCH-P%d","quantity":1}]}',
			    math.random(skus)))
		end
		return wrk.format()
	end
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end

-- Runs once at the end: sums the threads' counts, prints latencies in µs.
function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		for status, n in pairs(t:get("statuses")) do
			total[status] = (total[status] or 0) + n
		end
	end
	local ok, other, list = 0, 0, {}
	for status, n in pairs(total) do
		if status >= 200 and status < 300 then
			ok = ok + n
		else
			other = other + n
		end
		table.insert(list, status .. ":" .. n)
	end
	table.sort(list)
	local e = summary.errors
	io.write(string.format("BENCH rps=%.1f p50=%d p99=%d max=%d ok=%d " ..
	    "non2xx=%d sockerr=%d statuses=%s\n",
	    summary.requests / summary.duration * 1e6,
	    latency:percentile(50), latency:percentile(99), latency.max,
	    ok, other, e.connect + e.read + e.write + e.timeout,
	    table.concat(list, ",")))
end
