# Helpers the bench scripts share: . "$(dirname "$0")/lib.sh"

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_healthy ADDR PID LOG: waits up to 10 s for the ward-server PID to
# answer /health at ADDR; if it does not, prints LOG and exits 1.
wait_healthy() {
  local addr=$1 pid=$2 log=$3
  for _ in $(seq 100); do
    curl -sf "http://$addr/health" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "ward-server did not start:" >&2
  cat "$log" >&2
  exit 1
}
