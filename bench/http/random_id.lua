-- wrk script: each request GETs one task picked at random from the ids the driver seeded
-- (one 24-hex id per line in $BENCH_IDS_FILE). Headers come from wrk's -H options.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
  ids[#ids + 1] = line
end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))

request = function()
  return wrk.format("GET", "/v2.0/tasks/" .. ids[math.random(#ids)])
end
