-- wrk script: POST a weighted mix of real AdmissionReviews, check every answer, pace if asked.
--
-- Environment (read in every wrk thread):
--   BENCH_BODIES  a file listing review files, one per line, in the order to send them (the
--                 list repeats a file to weight it); each thread starts at its own offset.
--   BENCH_RATE    requests per second for each wrk thread; absent or 0: as fast as possible.
--                 Pacing keeps an absolute schedule per thread (wrk2-style, without its latency
--                 correction): each request claims the next slot; late requests go at once.
--   BENCH_MAX_REQUESTS  stop each wrk thread after this many responses (a bound in count
--                 besides wrk's -d bound in time); absent or 0: no bound.
-- At the end one line "BENCH_JSON {...}" carries latency percentiles and counters.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local requests_list = {}
local position = 1
responses = 0
reviews = 0      -- 200 + an AdmissionReview with a uid
allowed = 0
denied = 0
not_reviews = 0

local function read_file(path)
  local handle = assert(io.open(path, "rb"))
  local text = handle:read("*a")
  handle:close()
  return text
end

local thread_count = 0
local threads = {}

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, */*",
    ["User-Agent"] = "kube-apiserver-admission",
  }
  local cache = {}
  for path in io.lines(os.getenv("BENCH_BODIES")) do
    if path ~= "" then
      if not cache[path] then
        cache[path] = wrk.format("POST", "/validate?timeout=10s", headers, read_file(path))
      end
      table.insert(requests_list, cache[path])
    end
  end
  position = ((thread_index or 1) * 7919) % #requests_list + 1
end

function request()
  local r = requests_list[position]
  position = position + 1
  if position > #requests_list then position = 1 end
  return r
end

local rate = tonumber(os.getenv("BENCH_RATE") or "0")
if rate and rate > 0 then
  local period = 1000.0 / rate
  local next_slot = nil
  function delay()
    local now = now_ms()
    if not next_slot then next_slot = now end
    next_slot = next_slot + period
    local wait = next_slot - now
    if wait < 0 then return 0 end
    return wait
  end
end

local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0

function response(status, headers, body)
  responses = responses + 1
  if max_requests > 0 and responses >= max_requests then
    wrk.thread:stop()
  end
  if status == 200 and body:find('"kind":"AdmissionReview"', 1, true)
      and body:find('"uid":"', 1, true) then
    reviews = reviews + 1
    if body:find('"allowed":true', 1, true) then
      allowed = allowed + 1
    else
      denied = denied + 1
    end
  else
    not_reviews = not_reviews + 1
  end
end

function done(summary, latency, requests)
  local totals = {responses = 0, reviews = 0, allowed = 0, denied = 0, not_reviews = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
  end
  local e = summary.errors
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
                  e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}',
                  latency:percentile(50), latency:percentile(90), latency:percentile(99),
                  latency:percentile(99.9), latency.max, latency.mean),
  }
  for key, value in pairs(totals) do
    table.insert(parts, string.format('"%s":%d', key, value))
  end
  io.write("BENCH_JSON {" .. table.concat(parts, ",") .. "}\n")
end
