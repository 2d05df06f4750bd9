-- The wrk load of benches/proxy_cpu.sh and benches/instructions.sh (README, "Benchmarks"):
-- request i carries token i of the file named after `--` (one token a line, cycling through
-- all of them in order) as a bearer token, on one of three paths: one activity, two excluded
-- by the default groups (token-checks, presence-polling), as a desktop client mixes them.
-- Requests are built once in init() so that wrk's own CPU stays small.
--
--   wrk -t1 -c32 -d10s -s benches/tokens.lua http://127.0.0.1:8080/ -- tokens.txt
local paths = {"/api/v2/users/me", "/api/v2/conversations/calls/1234", "/api/v2/users/42/presences/purecloud"}
local requests, n, i = {}, 0, 0

function init(args)
  assert(args[1], "usage: wrk ... -s benches/tokens.lua URL -- TOKENS_FILE")
  for tok in io.lines(args[1]) do
    n = n + 1
    requests[n] = wrk.format("GET", paths[(n % #paths) + 1], {["Authorization"] = "Bearer " .. tok})
  end
  assert(n > 0, "no tokens in " .. args[1])
end

function request()
  i = i % n + 1
  return requests[i]
end
