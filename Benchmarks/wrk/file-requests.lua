-- wrk script: POST /api/v1/requests, a new subject each time (so each is a real filing).
-- The token comes from LETHE_TOKEN (an officer token).
local token = os.getenv("LETHE_TOKEN")
local counter = 0
local thread_id = 0

setup = function(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

request = function()
  counter = counter + 1
  local body = string.format('{"kind":"erasure","subject":{"email":"load-%d-%d-%d@example.com"}}', thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/v1/requests",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
