# Sourced by the benchmark scripts: a static upstream, one nginx worker on 127.0.0.1.
#
#   start_static_upstream DIR PORT BODY   # answers 200 with BODY to every request
#   stop_static_upstream DIR
start_static_upstream() {
  local dir=$1 port=$2 body=$3
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 '$body'; } }
}
NGINX
  nginx -p "$dir" -c nginx.conf
}

stop_static_upstream() {
  nginx -p "$1" -c nginx.conf -s stop 2>/dev/null || true
}
