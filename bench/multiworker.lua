-- wrk script for bench/multiworker.ts. COOKIES: a file of "name=value" lines,
-- one per session; each request carries the next one in turn (threads start
-- at different offsets). ROUTE: the path (default /inc).
-- Prints: RESULT <requests> <duration µs> <p50 µs> <p99 µs> <max µs> <non-2xx> <socket errors>
local route = os.getenv("ROUTE") or "/inc"
local cookies = {}
for line in io.lines(os.getenv("COOKIES")) do cookies[#cookies + 1] = line end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local i = 0
function init(args)
  i = ((tid or 0) * 499) % #cookies
end

function request()
  i = i % #cookies + 1
  return wrk.format("GET", route, { Cookie = cookies[i] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
