-- wrk script: each request GETs one task picked at random from the ids the driver seeded
-- (one 24-hex id per line in $BENCH_IDS_FILE). Headers come from wrk's -H options.
-- Optional: $BENCH_QUERY is appended to every path (e.g. "?api_key=..."), and with
-- $BENCH_ETAG_VERSION set each request carries If-None-Match: W/"<id>.<version>" (a
-- revalidation of the task's current version, answered 304).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
  ids[#ids + 1] = line
end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local query = os.getenv("BENCH_QUERY") or ""
local etag_version = os.getenv("BENCH_ETAG_VERSION")

request = function()
  local id = ids[math.random(#ids)]
  if etag_version == nil or etag_version == "" then
    return wrk.format("GET", "/v2.0/tasks/" .. id .. query)
  end
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["If-None-Match"] = 'W/"' .. id .. "." .. etag_version .. '"'
  return wrk.format("GET", "/v2.0/tasks/" .. id .. query, headers)
end
