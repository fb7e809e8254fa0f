# Sourced by the scripts that start a live server (bench, soak, contract and log checks).

# A free TCP port on the loopback interface.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits (up to 10 s) until GET /ready answers 200 on 127.0.0.1:PORT (the model is loaded); fails the script otherwise.
wait_up() {
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$1/ready" 2>/dev/null && return 0; sleep 0.1; done
  echo "server on port $1 did not start" >&2
  exit 1
}
