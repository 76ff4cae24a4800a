# Alertmanager anchor benchmark: routing + templating + delivery to a loopback HTTP sink.
# Copied from the anchor harness; CASES and SLOW_N=0 added so bench/kit-vs-alertmanager.mjs can run config B alone.
# Needs only Debian's prometheus-alertmanager package and Node.js (>= 18). Loopback only.
# Usage: bash bench.sh            (REPS=3 burst repetitions per case, default)
#        REPS=1 NS="1000" bash bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/am}                    # scratch dir created by this script
AM_BIN=${AM_BIN:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}
REPS=${REPS:-3}
NS=${NS:-"1000 10000"}
SLOW_N=${SLOW_N:-200}
SLOW_RATE=${SLOW_RATE:-20}
CONC=${CONC:-4}
IDLE=${IDLE:-5}
CASES=${CASES:-"A B"}                     # A: plain webhook, B: templated Slack + Discord (the kit's bench runs B only)
AM_ADDR=127.0.0.1:19093
[ -x "$AM_BIN" ] || { echo "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"; exit 1; }
mkdir -p "$WORK/results"
"$AM_BIN" --version 2>&1 | head -1 | tee "$WORK/results/version.txt"

AM_PID=""; RECV_PID=""
cleanup() {
  if [ -n "$AM_PID" ]; then kill "$AM_PID" || true; wait "$AM_PID" || true; fi
  if [ -n "$RECV_PID" ]; then kill "$RECV_PID" || true; wait "$RECV_PID" || true; fi
}
trap cleanup EXIT

wait_http() { # url
  node -e '
    const url = process.argv[1]; const t0 = Date.now();
    (function tick() {
      require("http").get(url, (r) => { r.resume(); if (r.statusCode === 200) process.exit(0); setTimeout(tick, 100); })
        .on("error", () => { if (Date.now() - t0 > 20000) process.exit(1); setTimeout(tick, 100); });
    })();' "$1"
}

node "$HERE/receiver.cjs" > "$WORK/receiver.log" 2>&1 &
RECV_PID=$!
wait_http http://127.0.0.1:19094/stats

run_case() { # config mode n expect label [extra load args...]
  local cfg=$1 mode=$2 n=$3 expect=$4 label=$5; shift 5
  rm -rf "$WORK/data"
  "$AM_BIN" --config.file="$HERE/$cfg" --storage.path="$WORK/data" \
    --web.listen-address=$AM_ADDR --web.external-url=http://$AM_ADDR --cluster.listen-address= --log.level=warn \
    > "$WORK/am-$label.log" 2>&1 &
  AM_PID=$!
  wait_http "http://$AM_ADDR/-/ready"
  sleep 1
  node "$HERE/load.cjs" --mode=$mode --n=$n --expect=$expect --am-pid=$AM_PID \
    --am=http://$AM_ADDR --recv=http://127.0.0.1:19094 --label=$label \
    --out="$WORK/results/$label.json" "$@" > "$WORK/load-$label.log" 2>&1 \
    || { echo "load failed for $label"; cat "$WORK/load-$label.log"; }
  kill "$AM_PID"; wait "$AM_PID" || true; AM_PID=""
  node -e 'const r=require(process.argv[1]); console.log(`${r.label}: recv ${r.received}/${r.expected} wall ${r.wallMs} ms, ${r.notificationsPerS} notif/s, AM cpu ${r.amCpuMs} ms, HWM ${r.amVmHWMMiB} MiB, p50/p99 ${JSON.stringify(Object.fromEntries(Object.entries(r.perPath).map(([k,v])=>[k,[v.latMs.p50,v.latMs.p99]])))}`)' "$WORK/results/$label.json" || true
}

for rep in $(seq 1 "$REPS"); do
  for n in $NS; do
    case " $CASES " in *" A "*) run_case am-webhook.yml burst "$n" 1 "A-burst-$n-r$rep" --batch=100 --concurrency=$CONC --idle-sample=$IDLE ;; esac
    case " $CASES " in *" B "*) run_case am-chat.yml    burst "$n" 2 "B-burst-$n-r$rep" --batch=100 --concurrency=$CONC --idle-sample=$IDLE ;; esac
  done
done
if [ "$SLOW_N" -gt 0 ]; then
  run_case am-webhook.yml slow "$SLOW_N" 1 "A-slow-$SLOW_N" --rate=$SLOW_RATE
  run_case am-chat.yml    slow "$SLOW_N" 2 "B-slow-$SLOW_N" --rate=$SLOW_RATE
fi

node "$HERE/summarize.cjs" "$WORK/results" | tee "$WORK/results/summary.md"
