-- wrk script: GET /ping/c<i> cycling over CHECKS names (arg 1), counting 200s; done() prints one
-- JSON line {"ok":..,"non200":..,"duration_us":..}.
local n, i = 10000, 0
ok, bad = 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = tonumber(args[1] or "10000") end
function request()
  i = i + 1
  return wrk.format("GET", "/ping/c" .. (i % n))
end
function response(status)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + (t:get("ok") or 0); b = b + (t:get("bad") or 0) end
  io.write(string.format('{"ok":%d,"non200":%d,"duration_us":%d,"p99_us":%d}\n',
    o, b, summary.duration, latency:percentile(99)))
end
