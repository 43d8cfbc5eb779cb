-- SPDX-License-Identifier: MIT
-- wrk script for tests/bench/bench.sh: POSTs DuitNow-Pay-style payment status
-- notifications, each with its own endToEndId (run tag + wrk thread + counter),
-- so hookstream's dedup (endToEndId:code:substate) never folds two requests.
-- Bodies are exactly BODY_BYTES long; done() prints "bench key=value" lines.
--
--   BENCH_RUN=<tag>  run tag in every id (default: derived from time + pid)
--   BODY_BYTES=<n>   body size in bytes (default 800)
--   BENCH_DELAY_MS=<n> mean pause before each request on a connection (paced load)

-- BODY_BYTES=<n> in the environment sets the body size (default 800).
local BODY_BYTES = tonumber(os.getenv("BODY_BYTES") or "") or 800

-- BENCH_DELAY_MS=<n>: every connection waits n ms on average before each
-- request (uniform in [0, 2n], so the connections do not fire in lockstep),
-- which paces the load (bench.sh's run at about half the maximum rate).
local DELAY_MS = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if DELAY_MS ~= nil and DELAY_MS > 0 then
	function delay()
		return math.random(0, 2 * DELAY_MS)
	end
end

local threads = {}

-- Main (setup/done) state: one run tag shared by all threads, one id per thread.
function setup(thread)
	if run_tag == nil then
		run_tag = os.getenv("BENCH_RUN")
		if run_tag == nil or run_tag == "" then
			math.randomseed(os.time())
			run_tag = string.format("%08x", math.random(0, 0x7fffffff))
		end
	end
	table.insert(threads, thread)
	thread:set("tid", #threads)
	thread:set("run", run_tag)
end

-- Thread state: the body is split around the id so each request is one concat.
local head, part1, part2, part3, id_fmt
sent = 0

function init(args)
	local tag = string.sub(string.gsub(run or "", "[^%w]", ""), 1, 8)
	id_fmt = "E2E" .. tag .. string.format("T%03d", tid or 1) .. "N%012d"
	local id = string.format(id_fmt, 0)
	part1 = '{"checkoutId":"CHK-'
	part2 = '","endToEndId":"'
	part3 = '","paymentStatus":{"code":"ACSC","substate":"CLEARED",'
		.. '"message":"Payment has been cleared by the issuing bank"}'
		.. ',"issuer":"MBBEMYKL","issuerName":"Malayan Banking Berhad"'
		.. ',"paymentMethod":"DuitNowOBW","sourceOfFunds":["CASA"]'
		.. ',"amount":{"value":"125.50","currency":"MYR"}'
		.. ',"merchant":{"merchantId":"M0000123456","merchantName":"Kedai Runcit Maju Sdn Bhd",'
		.. '"terminalId":"T0001","categoryCode":"5411"}'
		.. ',"customerName":"AHMAD BIN ABDULLAH","recipientReference":"INV-2026-11-000123"'
		.. ',"paymentDescription":"Order 000123 groceries"'
		.. ',"transactionTime":"2026-11-26T10:00:00.000+08:00"'
		.. ',"updatedTime":"2026-11-26T10:00:02.125+08:00"'
		.. ',"remarks":"'
	local fixed = #part1 + #id + #part2 + #id + #part3 + #'"}'
	if fixed > BODY_BYTES then
		error(string.format("post.lua: fixed part is %d bytes, over BODY_BYTES", fixed))
	end
	part3 = part3 .. string.rep("x", BODY_BYTES - fixed) .. '"}'
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	-- Every body has the same length, so one header block serves every request.
	local body = part1 .. id .. part2 .. id .. part3
	local req = wrk.format(nil, nil, nil, body)
	head = string.sub(req, 1, #req - #body)
end

function request()
	sent = sent + 1
	local id = string.format(id_fmt, sent)
	return head .. part1 .. id .. part2 .. id .. part3
end

function done(summary, latency, requests)
	local e = summary.errors
	local n = 0
	for _, t in ipairs(threads) do
		n = n + (t:get("sent") or 0)
	end
	io.write(string.format("bench requests=%d sent=%d duration_us=%d rps=%.1f\n",
		summary.requests, n, summary.duration,
		summary.requests / (summary.duration / 1e6)))
	io.write(string.format("bench non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
		e.status, e.connect, e.read, e.write, e.timeout))
	io.write(string.format("bench p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency.max, latency.mean))
	io.write(string.format("bench body_bytes=%d\n", BODY_BYTES))
end
