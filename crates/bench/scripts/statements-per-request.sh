#!/bin/bash
# Lone-request SQL statements (counted by PostgreSQL), latency and server CPU of two server
# binaries on one throwaway cluster, rounds alternating. Needs root (PostgreSQL runs as
# `postgres`) and Debian's PostgreSQL 15. See BENCHMARKS.md section 4.
# Usage: statements-per-request.sh BEFORE_BIN AFTER_BIN [ROUNDS]
set -e
B=$1; A=$2; R=${3:-3}
PG=/usr/lib/postgresql/15/bin; D=$(mktemp -d); chown postgres "$D"
runuser -u postgres -- $PG/initdb -D "$D/data" -A trust -U postgres >/dev/null
runuser -u postgres -- $PG/pg_ctl -D "$D/data" -l "$D/log" -o "-p 55437 -k $D -c log_statement=all -c fsync=off" -w start >/dev/null
trap "runuser -u postgres -- $PG/pg_ctl -D $D/data -m fast stop >/dev/null; rm -rf $D" EXIT
$PG/createdb -h 127.0.0.1 -p 55437 -U postgres before
$PG/createdb -h 127.0.0.1 -p 55437 -U postgres after
Q='{"query":"{ users(first: 50) { posts(first: 10) { comments(first: 5) { author { name } } tags { name } } } }"}'
count() { grep -c 'LOG:  execute\|LOG:  statement' "$D/log"; }
one() { # name bin db
  local name=$1 bin=$2 db=$3
  mkdir -p "$D/$name"; (cd "$D/$name" && exec "$bin" --database-url postgres://postgres@127.0.0.1:55437/$db --listen-addr 127.0.0.1:18755 >"$D/$name.out" 2>&1) & local SP=$!
  for i in $(seq 100); do curl -s -o /dev/null 127.0.0.1:18755/healthz && break; sleep 0.2; done
  for i in 1 2 3; do curl -s -o /dev/null 127.0.0.1:18755/graphql -H 'content-type: application/json' -d "$Q"; done
  local stm=""
  for i in $(seq 8); do n0=$(count); curl -s -o /dev/null 127.0.0.1:18755/graphql -H 'content-type: application/json' -d "$Q"; sleep 0.3; stm="$stm $(( $(count) - n0 ))"; done
  local c0=$(awk '{print $14+$15}' /proc/$SP/stat)
  local lat=$( { for i in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\n' 127.0.0.1:18755/graphql -H 'content-type: application/json' -d "$Q"; done; } | sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms", a[int(NR/2)]*1000}')
  local mean=$( { for i in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\n' 127.0.0.1:18755/graphql -H 'content-type: application/json' -d "$Q"; done; } | awk '{s+=$1} END {printf "%.1f", s/NR*1000}')
  local cpu=$(( ($(awk '{print $14+$15}' /proc/$SP/stat) - c0) * 10 / 100 ))
  echo "$name: statements [$stm ] lone latency $lat; mean of 50 in a row $mean ms; server CPU ~$cpu ms/request"
  kill $SP; wait $SP 2>/dev/null || true
}
for r in $(seq $R); do
  if [ $((r % 2)) = 1 ]; then one before $B before; one after $A after; else one after $A after; one before $B before; fi
done
