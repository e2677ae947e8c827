-- wrk script for the timed runs of bench/http.sh.
-- ROUTE: the path; COOKIES: a file of "name=value" lines (one per session).
-- With COOKIES, each request carries the next cookie in turn (threads start
-- at different offsets), so the 1,000 sessions are used round-robin.
-- Prints one machine-readable line at the end:
--   RESULT <requests> <duration µs> <p50 µs> <p99 µs> <non-2xx/3xx> <socket errors>
local route = os.getenv("ROUTE") or "/plain"
local file = os.getenv("COOKIES")
local cookies = {}
if file and file ~= "" then
  for line in io.lines(file) do cookies[#cookies + 1] = line end
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local i = 0
function init(args)
  if #cookies > 0 then i = ((tid or 0) * 499) % #cookies end
end

if #cookies > 0 then
  function request()
    i = i % #cookies + 1
    return wrk.format("GET", route, { Cookie = cookies[i] })
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
