-- wrk script: POST pre-built alert batches (one JSON array per line of BODIES) in a cycle.
-- Args (after "--"): BODIES_FILE [TOTAL_REQUESTS]
--   TOTAL_REQUESTS > 0: stop after that many responses (e.g. 391 * passes);
--   0 or absent: run for wrk's -d duration (load for the latency-under-load runs).
-- (With TOTAL, up to connections-1 extra POSTs are in flight when it stops; they are not counted.)
-- Counts responses by class; done() prints one JSON line: {"requests":..,"ok":..,"non2xx":..}.
-- Runs with -t1 (one Lua state): the body index is a plain global.
-- wrk's own duration is always the full -d (its main thread sleeps), so the script keeps its own
-- monotonic clock via LuaJIT's FFI: first request() to the TOTAL-th response, and on reaching TOTAL
-- it stops the thread and sends itself SIGINT so wrk exits at once.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  typedef struct { bench_timeval ru_utime; bench_timeval ru_stime; long ru_rest[14]; } bench_rusage;
  int getrusage(int who, bench_rusage *usage);
  long syscall(long number);
]]
local function gettid() return tonumber(ffi.C.syscall(186)) end -- SYS_gettid on x86_64
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end
-- CPU time of this wrk thread (RUSAGE_THREAD), to show the generator's own load without init.
local ru = ffi.new("bench_rusage")
local function cpu_us()
  ffi.C.getrusage(1, ru) -- RUSAGE_THREAD
  return (tonumber(ru.ru_utime.tv_sec) + tonumber(ru.ru_stime.tv_sec)) * 1000000
    + tonumber(ru.ru_utime.tv_usec) + tonumber(ru.ru_stime.tv_usec)
end
t_first, t_last, cpu_first, cpu_last = 0, 0, 0, 0 -- globals, read by done()
local bodies = {}
local n, next_i, total = 0, 0, 0
ok, bad = 0, 0 -- globals: done() reads them with thread:get()
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- wrk calls request() once from its main thread to verify the script (after init); that call
-- must not start the clock nor use up a body.
local init_tid = 0

function init(args)
  init_tid = gettid()
  for line in io.lines(args[1]) do
    n = n + 1
    bodies[n] = line
  end
  total = tonumber(args[2] or "0") or 0
  wrk.headers["Content-Type"] = "application/json"
  -- Format every request once, so request() costs no copying of 160 KB bodies.
  for i = 1, n do
    bodies[i] = wrk.format("POST", nil, nil, bodies[i])
  end
end

function request()
  if t_first == 0 then
    if gettid() == init_tid then return bodies[1] end
    t_first = now_us(); cpu_first = cpu_us()
  end
  local r = bodies[next_i % n + 1]
  next_i = next_i + 1
  return r
end

function response(status, headers, body)
  if total > 0 and ok + bad >= total then return end
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
  t_last = now_us()
  if total > 0 and ok + bad >= total or (ok + bad) % 64 == 0 then cpu_last = cpu_us() end
  if total > 0 and ok + bad >= total then
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2)
  end
end

function done(summary, latency, requests)
  local ok_sum, bad_sum, first, last, cpu = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok_sum = ok_sum + (t:get("ok") or 0)
    bad_sum = bad_sum + (t:get("bad") or 0)
    local f, l = t:get("t_first") or 0, t:get("t_last") or 0
    if first == 0 or (f > 0 and f < first) then first = f end
    if l > last then last = l end
    cpu = cpu + (t:get("cpu_last") or 0) - (t:get("cpu_first") or 0)
  end
  io.write(string.format(
    '{"wrk_requests":%d,"ok":%d,"non2xx":%d,"duration_us":%d,"gen_cpu_us":%d,"wrk_duration_us":%d,"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, ok_sum, bad_sum, last - first, cpu, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
