-- wrk script of bench/run.
-- setup: with BENCH_PORTS="p1,p2,..." the threads connect round-robin to
-- 127.0.0.1 on those ports (one wrk run spread over replicas that each
-- publish a port, when no proxy balances them); without it, to the URL's
-- address. done: one JSON line with the figures, latencies in microseconds.
local addrs = nil
local next_index = 0

function setup(thread)
  if addrs == nil then
    addrs = {}
    for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "%d+") do
      for _, addr in ipairs(wrk.lookup("127.0.0.1", port)) do
        table.insert(addrs, addr)
      end
    end
  end
  if #addrs > 0 then
    thread.addr = addrs[(next_index % #addrs) + 1]
    next_index = next_index + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
