#!/usr/bin/env bash
# Make sure RabbitMQ (with its management API) and PostgreSQL accept connections where the
# platform expects them. A server on this machine that is down gets started. A missing one is
# installed with apt-get when the script runs as root on Debian or Ubuntu. Then it sets up the
# dead-letter queue of the event queues (`python -m samen_devtools.dlq ensure`) on the broker's
# vhost. Prints nothing when all is up.
#
#   scripts/ensure-infra.sh            check, start or install as needed
#   scripts/ensure-infra.sh --check    only report, exit 1 when something does not answer
#   scripts/ensure-infra.sh --dry-run  print the commands it would run, change nothing
#
# Environment:
#   SAMEN_AMQP_URI          broker URL, default amqp://guest:guest@127.0.0.1:5672/
#   SAMEN_POSTGRES_URL      server URL, default postgresql+psycopg://postgres@127.0.0.1:5432
#   SAMEN_INFRA_TIMEOUT     seconds to wait for a started server, default 60
#   SAMEN_PG_ETC_DIR        where PostgreSQL clusters are configured, default /etc/postgresql
#   SAMEN_RABBIT_API_URI    management API, default http://<AMQP user:password>@<AMQP host>:15672
#   SAMEN_PYTHON            Python with samen_devtools installed, default .venv/bin/python
set -euo pipefail

readonly MANAGEMENT_PORT=15672
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly AMQP_URI="${SAMEN_AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
readonly POSTGRES_URL="${SAMEN_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432}"
readonly TIMEOUT="${SAMEN_INFRA_TIMEOUT:-60}"
readonly PG_ETC_DIR="${SAMEN_PG_ETC_DIR:-/etc/postgresql}"

mode=ensure
apt_updated=false
failures=0

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
}

log() {
    echo "ensure-infra: $*" >&2
}

fail() {
    log "ERROR: $*"
    failures=$((failures + 1))
}

# Run a command that changes the machine, or only print it with --dry-run.
run() {
    if [[ $mode == dry-run ]]; then
        echo "would run: $*"
        return 0
    fi
    log "running: $*"
    "$@"
}

# Split a URL into URL_USER, URL_PASSWORD, URL_HOST and URL_PORT. Percent-escapes in the user
# and password are decoded. NOTE: IPv6 literals in brackets are not supported.
parse_url() {
    local url=$1 default_port=$2 authority userinfo hostport

    authority=${url#*://}
    authority=${authority%%/*}
    authority=${authority%%\?*}

    if [[ $authority == *@* ]]; then
        userinfo=${authority%@*}
        hostport=${authority##*@}
    else
        userinfo=""
        hostport=$authority
    fi

    URL_USER=$(percent_decode "${userinfo%%:*}")
    URL_PASSWORD=""
    if [[ $userinfo == *:* ]]; then
        URL_PASSWORD=$(percent_decode "${userinfo#*:}")
    fi

    URL_HOST=${hostport%%:*}
    URL_HOST=${URL_HOST:-127.0.0.1}
    URL_PORT=$default_port
    if [[ $hostport == *:* && -n ${hostport#*:} ]]; then
        URL_PORT=${hostport#*:}
    fi
}

percent_decode() {
    printf '%b' "${1//%/\\x}"
}

is_local_host() {
    case $1 in
        localhost | 127.* | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

postgres_answers() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h "$1" -p "$2" -t 2
    else
        port_open "$1" "$2"
    fi
}

# Wait until "$@" succeeds, for at most TIMEOUT seconds. Does nothing with --dry-run.
wait_for() {
    local what=$1
    shift
    [[ $mode == dry-run ]] && return 0

    local deadline=$((SECONDS + TIMEOUT))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            fail "timed out after ${TIMEOUT} s waiting for $what (raise SAMEN_INFRA_TIMEOUT or check its log)"
            return 1
        fi
        sleep 1
    done
}

can_install() {
    [[ $(id -u) == 0 ]] || return 1
    command -v apt-get >/dev/null || return 1
    [[ -r /etc/os-release ]] || return 1
    grep -Eq '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release
}

apt_install() {
    if [[ $apt_updated == false ]]; then
        run apt-get update
        apt_updated=true
    fi
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# --- RabbitMQ -------------------------------------------------------------------------------

rabbitmq_installed() {
    command -v rabbitmq-server >/dev/null
}

install_rabbitmq() {
    apt_install rabbitmq-server

    # Enable the plugin offline and bind both listeners to loopback before the first start, so
    # the new node never listens on other interfaces. The node reads conf.d at boot.
    run rabbitmq-plugins enable --offline rabbitmq_management
    if [[ $mode == dry-run ]]; then
        echo "would write: /etc/rabbitmq/conf.d/50-samen.conf (AMQP and management on 127.0.0.1)"
    else
        mkdir -p /etc/rabbitmq/conf.d
        cat >/etc/rabbitmq/conf.d/50-samen.conf <<'CONF'
# Written by the Samen scripts/ensure-infra.sh: this development broker listens on loopback only.
listeners.tcp.default = 127.0.0.1:5672
management.tcp.ip = 127.0.0.1
management.tcp.port = 15672
CONF
    fi
}

ensure_rabbitmq() {
    parse_url "$AMQP_URI" 5672
    local host=$URL_HOST port=$URL_PORT

    if port_open "$host" "$port"; then
        ensure_management "$host"
        return
    fi

    if [[ $mode == check ]]; then
        fail "RabbitMQ does not answer on $host:$port"
        return
    fi
    if ! is_local_host "$host"; then
        fail "RabbitMQ does not answer on $host:$port: start it there, or point SAMEN_AMQP_URI at a running broker"
        return
    fi

    if ! rabbitmq_installed; then
        if ! can_install; then
            fail "RabbitMQ is not installed: install rabbitmq-server (3.10 or later, with the management plugin), or set SAMEN_AMQP_URI to a running broker"
            return
        fi
        install_rabbitmq
        # apt-get may have started the node already through its init script.
        if [[ $mode != dry-run ]] && port_open "$host" "$port"; then
            ensure_management "$host"
            return 0
        fi
    fi

    run rabbitmq-server -detached
    wait_for "RabbitMQ on $host:$port (check that SAMEN_AMQP_URI names the port the broker listens on)" \
        port_open "$host" "$port" || return 0
    ensure_management "$host"
}

management_enabled() {
    rabbitmq-plugins list --enabled --minimal 2>/dev/null | grep -qx rabbitmq_management
}

ensure_management() {
    local host=$1

    if port_open "$host" "$MANAGEMENT_PORT"; then
        return
    fi

    if [[ $mode == check ]]; then
        fail "RabbitMQ management API does not answer on $host:$MANAGEMENT_PORT (tests create vhosts through it)"
        return
    fi
    # With --dry-run after a planned install, rabbitmq-plugins is not there yet.
    if ! is_local_host "$host" || { [[ $mode != dry-run ]] && ! command -v rabbitmq-plugins >/dev/null; }; then
        fail "RabbitMQ management API does not answer on $host:$MANAGEMENT_PORT: run 'rabbitmq-plugins enable rabbitmq_management' on the broker host"
        return
    fi

    if [[ $mode == dry-run ]] || ! management_enabled; then
        bind_management_to_loopback
        run rabbitmq-plugins enable rabbitmq_management
    fi
    wait_for "RabbitMQ management API on $host:$MANAGEMENT_PORT" port_open "$host" "$MANAGEMENT_PORT" || true
}

# A running node whose configuration names no management listener would bind port 15672 on
# every interface. This sets the listener for the running node only. After a restart the node
# uses its configuration files again, where management.tcp.ip sets the address.
bind_management_to_loopback() {
    local current
    current=$(rabbitmqctl eval 'application:get_env(rabbitmq_management, tcp_config).' 2>/dev/null || true)
    if [[ $mode == dry-run || $current == undefined ]]; then
        run rabbitmqctl eval \
            'application:set_env(rabbitmq_management, tcp_config, [{ip, "127.0.0.1"}, {port, 15672}], [{persistent, true}]).'
    fi
}

# Declare the dead-letter exchange, queue and policy on the vhost of SAMEN_AMQP_URI. Every call
# is an idempotent PUT or binding POST to the management API, so this runs on every invocation.
ensure_dead_letters() {
    local python=${SAMEN_PYTHON:-$ROOT/.venv/bin/python} authority userinfo="guest:guest" api_uri output

    authority=${AMQP_URI#*://}
    authority=${authority%%/*}
    if [[ $authority == *@* ]]; then
        userinfo=${authority%@*}
    fi
    parse_url "$AMQP_URI" 5672
    api_uri=${SAMEN_RABBIT_API_URI:-http://$userinfo@$URL_HOST:$MANAGEMENT_PORT}

    if [[ $mode == dry-run ]]; then
        echo "would run: $python -m samen_devtools.dlq ensure (vhost of $AMQP_URI)"
        return 0
    fi
    if [[ ! -x $python ]]; then
        fail "cannot set up dead-lettering: $python is missing; run 'make venv' or set SAMEN_PYTHON"
        return 0
    fi
    if ! output=$(cd "$ROOT" && SAMEN_AMQP_URI=$AMQP_URI SAMEN_RABBIT_API_URI=$api_uri \
        "$python" -m samen_devtools.dlq ensure 2>&1); then
        fail "setting up dead-lettering failed: $output"
    fi
}

# --- PostgreSQL -----------------------------------------------------------------------------

# Print the newest PostgreSQL major version with a cluster configured under PG_ETC_DIR.
pg_version() {
    [[ -d $PG_ETC_DIR ]] || return 1
    command -v pg_ctlcluster >/dev/null || return 1
    local version
    version=$(find "$PG_ETC_DIR" -mindepth 2 -maxdepth 2 -name main -type d -printf '%h\n' \
        | xargs -r -n1 basename | sort -V | tail -n1)
    [[ -n $version ]] || return 1
    echo "$version"
}

# Let user postgres connect over loopback TCP without a password, which a fresh Debian cluster
# requires (scram-sha-256). The lines go first in pg_hba.conf because the first match decides.
trust_local_postgres() {
    local version=$1 hba="$PG_ETC_DIR/$1/main/pg_hba.conf"

    if [[ $mode == dry-run ]]; then
        echo "would add to $hba: host all postgres 127.0.0.1/32 trust (and ::1/128)"
        return
    fi
    if grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
        return
    fi
    log "allowing user postgres on loopback without a password in $hba"
    sed -i '1i # Added by the Samen scripts/ensure-infra.sh: local development only.\
host all postgres 127.0.0.1/32 trust\
host all postgres ::1/128 trust' "$hba"
}

# Check that the user and password of SAMEN_POSTGRES_URL are accepted (psql is optional).
check_postgres_login() {
    local host=$1 port=$2 user=$3 password=$4
    command -v psql >/dev/null || return 0

    if PGPASSWORD=$password PGCONNECT_TIMEOUT=5 psql -h "$host" -p "$port" -U "$user" -d postgres \
        -w -Atqc 'SELECT 1' >/dev/null 2>&1; then
        return 0
    fi
    fail "PostgreSQL on $host:$port rejected user '$user': put the password in SAMEN_POSTGRES_URL" \
        "(postgresql+psycopg://$user:PASSWORD@$host:$port), or allow '$user' from 127.0.0.1 with trust in pg_hba.conf"
}

ensure_postgres() {
    parse_url "$POSTGRES_URL" 5432
    local host=$URL_HOST port=$URL_PORT user=${URL_USER:-postgres} password=$URL_PASSWORD
    local version installed=false

    if postgres_answers "$host" "$port"; then
        check_postgres_login "$host" "$port" "$user" "$password"
        return
    fi

    if [[ $mode == check ]]; then
        fail "PostgreSQL does not answer on $host:$port"
        return
    fi
    if ! is_local_host "$host"; then
        fail "PostgreSQL does not answer on $host:$port: start it there, or point SAMEN_POSTGRES_URL at a running server"
        return
    fi

    if ! version=$(pg_version); then
        if ! can_install; then
            fail "PostgreSQL is not installed: install PostgreSQL 15 or later with a cluster named 'main'" \
                "(Debian/Ubuntu: apt-get install postgresql), or set SAMEN_POSTGRES_URL to a running server"
            return
        fi
        apt_install postgresql
        installed=true
        # The Debian package creates the cluster "main" for its PostgreSQL version.
        version=$(pg_version) || version="<version>"
    fi

    if [[ $installed == true ]]; then
        trust_local_postgres "$version"
    fi
    # A cluster that apt-get already started reads the changed pg_hba.conf on reload.
    if [[ $mode != dry-run && $installed == true ]] && postgres_answers "$host" "$port"; then
        run pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    else
        run pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi
    wait_for "PostgreSQL $version on $host:$port (check that SAMEN_POSTGRES_URL names the cluster's port)" \
        postgres_answers "$host" "$port" || return 0
    [[ $mode == dry-run ]] || check_postgres_login "$host" "$port" "$user" "$password"
}

# --- main -----------------------------------------------------------------------------------

main() {
    case ${1:-} in
        "") ;;
        --check) mode=check ;;
        --dry-run) mode=dry-run ;;
        -h | --help)
            usage
            return 0
            ;;
        *)
            log "unknown option '$1' (expected --check or --dry-run)"
            return 2
            ;;
    esac

    ensure_rabbitmq
    if ((failures == 0)) && [[ $mode != check ]]; then
        ensure_dead_letters
    fi
    ensure_postgres

    if ((failures > 0)); then
        return 1
    fi
    if [[ $mode == check ]]; then
        log "RabbitMQ, its management API and PostgreSQL answer"
    fi
}

main "$@"
