# Shared by test/run.sh, demo/demo.sh and bench/: packages, an unprivileged
# user, a free port and throw-away servers.  Source it; it sets nothing else.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_CONFIG=$PG_BIN/pg_config
export PATH=$PG_BIN:$PATH
TRICKLE_USER=${TRICKLE_USER:-trickle}
TRICKLE_PACKAGES="postgresql-15 postgresql-server-dev-15 liburcu-dev libipc-run-perl \
clang-14 libclang-rt-14-dev libcmocka-dev spin make gcc"

# ensure_packages: install whatever Debian package is missing (as root, or
# through sudo).
ensure_packages() {
	local missing=() p
	for p in $TRICKLE_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing missing packages: ${missing[*]}"
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	if [ ! -f /etc/postgresql-common/createcluster.d/trickle.conf ]; then
		$sudo mkdir -p /etc/postgresql-common/createcluster.d
		echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.d/trickle.conf >/dev/null
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# as_user CMD...: run CMD as the unprivileged user when we are root.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$TRICKLE_USER" -- "$@"
	else
		"$@"
	fi
}

# as_root CMD...: run CMD with the rights to install into PostgreSQL's tree.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id "$TRICKLE_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TRICKLE_USER"
}

# free_port: print a TCP port nothing listens on (127.0.0.1).
free_port() {
	local port
	for port in $(seq "${1:-54320}" 65000); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# start_server DIR PORT [extra postgresql.conf lines]: initdb and start a
# server with trickle preloaded, listening on 127.0.0.1 only.
start_server() {
	local dir=$1 port=$2 extra=${3:-}
	as_user rm -rf "$dir"
	as_user mkdir -p "$dir"
	as_user initdb --no-sync -A trust -U postgres -D "$dir/data" >"$dir.initdb.log" 2>&1 ||
		{ cat "$dir.initdb.log"; return 1; }
	as_user bash -c "cat >> '$dir/data/postgresql.conf'" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'trickle'
fsync = off
max_prepared_transactions = 10
$extra
CONF
	as_user pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

stop_server() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] && as_user pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1
	return 0
}
