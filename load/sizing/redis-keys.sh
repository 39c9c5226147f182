#!/usr/bin/env bash
# Bytes per Redis key of each kind Parley keeps (docs/scaling.md), measured: starts a throwaway
# redis-server, creates N keys of each kind with the commands and value shapes the code uses
# (socket-edge/edge/presence.go, infra/auth/tickets.go and revocation.go, infra/ratelimit,
# functions/realtime/calls.go; ids are 36-character UUIDs, connection ids 16 characters, the
# default prefix "parley:"), and prints, per kind, MEMORY USAGE of one key and the growth of
# used_memory per key (which adds the keyspace and expires dictionaries' share).
#
#   load/sizing/redis-keys.sh            # N=100000 per kind
set -euo pipefail
N=${N:-100000} PORT=${PORT:-56379}
dir=$(mktemp -d /tmp/redis-sizing.XXXXXX)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes \
	--pidfile "$dir/pid" --logfile "$dir/log" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
cli=(redis-cli -p "$PORT")
used() { "${cli[@]}" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }

# gen KIND: N commands (RESP, for redis-cli --pipe) creating keys of that kind.
gen() {
	python3 - "$1" "$N" <<'PY'
import sys, uuid, base64, os, json, time
kind, n = sys.argv[1], int(sys.argv[2])
p = "parley:"
now = int(time.time() * 1000)
u = lambda: str(uuid.uuid4())
conn = lambda: base64.urlsafe_b64encode(os.urandom(12)).decode()
buf = []
def cmd(line):
    for c in line.strip().split("\n"):
        a = c.split(" ")
        buf.append("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x.encode()), x) for x in a))
class W:
    write = staticmethod(cmd)
out = W
for i in range(n):
    if kind == "presence":          # presence:<user> ZSET of device leases, PEXPIRE PresenceTTL
        k = p + "presence:" + u()
        out.write(f"ZADD {k} {now + 60000} {conn()}\nPEXPIRE {k} 600000\n")
    elif kind == "presence2":       # the same with two devices online
        k = p + "presence:" + u()
        out.write(f"ZADD {k} {now + 60000} {conn()} {now + 60000} {conn()}\nPEXPIRE {k} 600000\n")
    elif kind == "lastseen":        # lastseen:<user> RFC 3339 nano, no TTL
        out.write(f"SET {p}lastseen:{u()} 2026-12-06T10:09:22.029317123Z\n")
    elif kind == "wsticket":        # wsticket:<32 base64url> ticket JSON, TTL 30 s
        t = base64.urlsafe_b64encode(os.urandom(24)).decode()
        body = json.dumps({"user_id": u(), "session_id": u(), "exp": now // 1000 + 30, "jti": u(),
                           "token_exp": now // 1000 + 900, "iat": now // 1000}, separators=(",", ":"))
        out.write(f"SET {p}wsticket:{t} {body} EX 300\n")
    elif kind == "denylist":        # denylist:jti:<id> or sid:<id> "1", TTL = access-token lifetime
        out.write(f"SET {p}denylist:{'jti' if i % 2 else 'sid'}:{u()} 1 EX 901\n")
    elif kind == "ratelimit":       # rl:user:<id> GCRA theoretical arrival time in microseconds
        out.write(f"SET {p}rl:user:{u()} {now * 1000 + 10000} PX 600000\n")
    elif kind == "call":            # one ringing call: call:<id> HASH, incall:<caller>, incall:<callee>, callrings
        c, a, b = u(), u(), u()
        out.write(f"HSET {p}call:{c} state ringing caller {a} callee {b} conv {u()} deadline {now + 30000} ev_invite {u()}\n"
                  f"PEXPIRE {p}call:{c} 600000\nSET {p}incall:{a} {c} PX 600000\nSET {p}incall:{b} {c} PX 600000\n"
                  f"ZADD {p}callrings {now + 30000} {c}\n")
sys.stdout.write("".join(buf))
PY
}

printf '%-10s %8s %14s %16s\n' kind keys memory_usage used_memory/key
for kind in presence presence2 lastseen wsticket denylist ratelimit call; do
	"${cli[@]}" flushall >/dev/null
	before=$(used)
	gen "$kind" | "${cli[@]}" --pipe >/dev/null
	after=$(used)
	sample=$("${cli[@]}" --scan --pattern "parley:*" | grep -v -e callrings -e incall: | head -1 || true)
	printf '%-10s %8d %14s %16.0f\n' "$kind" "$N" "$("${cli[@]}" memory usage "$sample")" "$(( (after - before) / N ))"
done
