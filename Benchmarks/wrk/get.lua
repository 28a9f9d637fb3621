-- wrk script: GET with the token from LETHE_TOKEN; the path is wrk's URL.
local token = os.getenv("LETHE_TOKEN")
request = function()
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
end
