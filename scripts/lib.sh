# shellcheck shell=bash
# Helpers shared by the scripts. Source it; it defines functions only. A local chain is set up by
# `protolearnd testnet init-files` (node/cli/testnet*.go), not here.

# log prints a progress line on stderr.
log() { printf '==> %s\n' "$*" >&2; }

# die prints an error on stderr and exits 1.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# need_jq makes sure jq is on PATH: installs it with apt-get when running as root, else explains.
need_jq() {
  command -v jq >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "jq is missing: apt-get install -y jq"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; } ||
      die "could not install jq"
    return 0
  fi
  die "jq is required to read the chain's JSON: install it (Debian/Ubuntu: sudo apt-get install -y jq)"
}

# toml_set FILE SECTION KEY VALUE sets KEY in [SECTION] of a TOML file (SECTION "" is the top level).
# VALUE is written as is, so strings need their quotes: toml_set f rpc laddr '"tcp://127.0.0.1:26657"'.
# Fails if the key is not there, so a changed config layout is noticed instead of silently ignored.
toml_set() {
  local file=$1 section=$2 key=$3 value=$4 tmp
  tmp=$(mktemp "$file.XXXXXX")
  if ! awk -v sec="$section" -v key="$key" -v val="$value" '
    /^[ \t]*\[[^]]*\][ \t]*$/ { cur = $0; sub(/^[ \t]*\[/, "", cur); sub(/\][ \t]*$/, "", cur) }
    {
      line = $0
      if (cur == sec && !done) {
        k = line; sub(/^[ \t]*/, "", k)
        if (index(k, key) == 1 && substr(k, length(key) + 1) ~ /^[ \t]*=/) { print key " = " val; done = 1; next }
      }
      print line
    }
    END { if (!done) exit 3 }' "$file" >"$tmp"; then
    rm -f "$tmp"
    die "$file: no key '$key' in section [${section}]"
  fi
  mv "$tmp" "$file"
}

# port_in_use PORT succeeds when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for_height RPC_PORT HEIGHT TIMEOUT_S [PID] waits until the node at 127.0.0.1:RPC_PORT has
# committed block HEIGHT; fails after TIMEOUT_S seconds, or at once when process PID has exited.
wait_for_height() {
  local port=$1 want=$2 timeout=$3 pid=${4:-} h i
  for ((i = 0; i < timeout * 4; i++)); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    h=$(curl -fsS "http://127.0.0.1:$port/status" 2>/dev/null | jq -r '.result.sync_info.latest_block_height' 2>/dev/null || true)
    if [ -n "$h" ] && [ "$h" != null ] && [ "$h" -ge "$want" ]; then return 0; fi
    sleep 0.25
  done
  return 1
}

# latest_height RPC_PORT prints the node's latest committed height.
latest_height() { curl -fsS "http://127.0.0.1:$1/status" | jq -r '.result.sync_info.latest_block_height'; }

# node_running PIDFILE HOME succeeds when PIDFILE names a live `... start --home HOME` process
# (whatever the binary is called), so a stale pid reused by another program is never signalled.
node_running() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(ps -p "$pid" -o args= 2>/dev/null)" == *" start --home $2"* ]]
}

# protolearnd_binary sets BIN: $PROTOLEARND when given (it must be executable), else `make build`.
protolearnd_binary() {
  if [ -n "${PROTOLEARND:-}" ]; then
    BIN=$PROTOLEARND
    [ -x "$BIN" ] || die "PROTOLEARND=$BIN is not an executable"
  else
    log "make build (go rebuilds protolearnd only if sources changed)"
    make --no-print-directory -C "$repo" build >&2
    BIN=$repo/build/protolearnd
  fi
}

# bench_machine prints the machine line of a benchmark entry: cores, CPU model, memory, OS.
bench_machine() {
  local model mem_gib os
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  mem_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
  # shellcheck disable=SC1091
  os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
  echo "$(nproc) cores, ${model:-unknown CPU}, ${mem_gib} GiB RAM, ${os}"
}

# bench_add_entry FILE inserts FILE's lines, after a blank line, right below docs/BENCHMARKS.md's
# results marker (newest run first).
bench_add_entry() {
  local doc=docs/BENCHMARKS.md
  grep -q '<!-- bench-results' "$doc" || die "$doc lacks the results marker"
  awk -v f="$1" '{ print } /<!-- bench-results/ && !done { print ""; while ((getline l < f) > 0) print l; done = 1 }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  log "added this run to $doc"
}
