#!/usr/bin/env bash
# The original KeyMesh checks, on two real nodes: basic SET/GET and a missing key over
# a raw TCP connection (plain text, as with nc), a 30-key stress test, the same through
# a Redis client library, and replication across a three-node Raft cluster.
#
# Needs only bash and node (raw TCP through bash's /dev/tcp). Run after `npm run build`.
# Prints one line per check, then "N passed, M failed"; exits non-zero if any failed.

set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${KEYMESH_BIN:-$root/bin/keymesh.js}"
work="$(mktemp -d "${TMPDIR:-/tmp}/keymesh-test-sh.XXXXXX")"
pids=()
passed=0
failed=0

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Starts a node in its own directory (its data stays there); sets $started_port.
start_node() {
  local name="$1" port dir="$work/$1"
  port="$(free_port)"
  mkdir -p "$dir"
  (cd "$dir" && exec node "$bin" server --port "$port" --bind 127.0.0.1 >"$dir/out.log" 2>&1) &
  local pid="$!"
  pids+=("$pid")
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      started_port="$port"
      return 0
    fi
    sleep 0.1
  done
  echo "node $name did not start on port $port; its output:" >&2
  cat "$dir/out.log" >&2
  return 1
}

# Sends plain-text lines to a node and prints the replies, one per line.
# Usage: plain PORT REPLY_LINES 'CMD 1' 'CMD 2' ...
plain() {
  local port="$1" lines="$2" line
  shift 2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s\n' "$@" >&3
  for _ in $(seq 1 "$lines"); do
    IFS= read -r -t 5 line <&3 || break
    printf '%s\n' "$line"
  done
  exec 3<&- 3>&-
}

# Compares actual to expected output for a named check.
check() {
  local name="$1" expected="$2" actual="$3"
  if [[ "$actual" == "$expected" ]]; then
    pass "$name"
  else
    fail "$name" "expected $(printf '%q' "$expected"), got $(printf '%q' "$actual")"
  fi
}

start_node n1 || exit 1
port1="$started_port"
start_node n2 || exit 1
port2="$started_port"

check "basic set/get (plain text over TCP)" $'OK\njohn' "$(plain "$port1" 2 'SET name john' 'GET name')"
check "missing key (plain text over TCP)" "(nil)" "$(plain "$port1" 1 'GET missing_key')"

sets=()
gets=()
expected_sets=""
expected_gets=""
for i in $(seq 1 30); do
  sets+=("SET key$i value$i")
  gets+=("GET key$i")
  expected_sets+="OK"$'\n'
  expected_gets+="value$i"$'\n'
done
check "stress: SET key1..key30" "${expected_sets%$'\n'}" "$(plain "$port1" 30 "${sets[@]}")"
check "stress: GET key1..key30" "${expected_gets%$'\n'}" "$(plain "$port1" 30 "${gets[@]}")"

# The same checks through a real Redis client library (RESP).
client_out="$(cd "$root" && PORT="$port1" node --input-type=module -e '
import { Redis } from "ioredis";
const r = new Redis({ port: Number(process.env.PORT), host: "127.0.0.1", maxRetriesPerRequest: 1 });
const lines = [];
try {
  lines.push(`set/get: ${(await r.set("lib:name", "john")) === "OK" && (await r.get("lib:name")) === "john"}`);
  lines.push(`missing: ${(await r.get("lib:missing")) === null}`);
  const p = r.pipeline();
  for (let i = 1; i <= 30; i++) p.set(`lib:key${i}`, `value${i}`);
  await p.exec();
  let ok = true;
  for (let i = 1; i <= 30; i++) ok &&= (await r.get(`lib:key${i}`)) === `value${i}`;
  lines.push(`stress: ${ok}`);
} catch (e) {
  lines.push(`error: ${e.message}`);
} finally {
  r.disconnect();
}
console.log(lines.join("\n"));
' 2>&1)"
for item in "set/get" "missing" "stress"; do
  if grep -qx "$item: true" <<<"$client_out"; then
    pass "redis client library (ioredis): $item"
  else
    fail "redis client library (ioredis): $item" "$(tr '\n' ' ' <<<"$client_out")"
  fi
done

# Replication: three nodes form a Raft cluster; a write on one node is read on the
# other two (strong reads), and a write sent to a follower is forwarded to the leader.
start_cluster_node() {
  local name="$1" port="$2" peers="$3" dir="$work/cluster-$1"
  mkdir -p "$dir"
  (cd "$dir" && exec node "$bin" server --node-id "$name" --port "$port" --bind 127.0.0.1 --peers "$peers" >"$dir/out.log" 2>&1) &
  pids+=("$!")
}
cport=()
peers=""
for i in 1 2 3; do
  cport[$i]="$(free_port)"
  peers+="${peers:+,}n$i@127.0.0.1:${cport[$i]}@$(free_port)"
done
for i in 1 2 3; do start_cluster_node "n$i" "${cport[$i]}" "$peers"; done
for _ in $(seq 1 100); do
  [[ "$(plain "${cport[1]}" 1 'SET rkey rvalue' 2>/dev/null)" == "OK" ]] && break
  sleep 0.1
done
check "replication: GET on node 2 after SET on node 1" "rvalue" "$(plain "${cport[2]}" 1 'GET rkey')"
check "replication: GET on node 3 after SET on node 1" "rvalue" "$(plain "${cport[3]}" 1 'GET rkey')"
check "replication: SET on node 3, GET on node 1" $'OK\nrvalue3' "$(plain "${cport[3]}" 1 'SET rkey3 rvalue3'; plain "${cport[1]}" 1 'GET rkey3')"

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
