# Sourced by scripts/ha-demo.sh and scripts/cluster.sh: the BMC emulator (sushy-tools,
# one Redfish system per node), the Masakari API (noauth, SQLite, with the Keystone+Nova
# stand-in scripts/ha-demo-openstack.py) and the agents' ha/fencing/recovery config, so
# both run HA the same way. Writing files only: starting the processes (where, in which
# namespace, stopped how) is the caller's business.

# ha_bmc_setup DIR IP PORT VENV NAME...: writes DIR/cert.pem + key.pem (for IP),
# DIR/bmc-password (mode 0600), DIR/htpasswd (bcrypt, through VENV's python), DIR/systems
# ("NAME UUID" lines) and DIR/sushy.conf (fake driver, every system On, listening on
# IP:PORT, state in DIR/sushy-state); sets the global map ha_system[NAME]=UUID and
# ha_bmc_password.
ha_bmc_setup() {
    local dir=$1 ip=$2 port=$3 venv=$4 name systems=""
    shift 4
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/key.pem" \
        -out "$dir/cert.pem" -days 2 -subj "/CN=$ip" -addext "subjectAltName=IP:$ip" 2>/dev/null
    ha_bmc_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
    (umask 077; echo "$ha_bmc_password" >"$dir/bmc-password")
    echo "admin:$(echo -n "$ha_bmc_password" | "$venv/bin/python" -c \
        'import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(rounds=4)).decode())')" \
        >"$dir/htpasswd"
    declare -gA ha_system=()
    : >"$dir/systems"
    for name in "$@"; do
        ha_system[$name]=$(python3 -c 'import uuid; print(uuid.uuid4())')
        echo "$name ${ha_system[$name]}" >>"$dir/systems"
        systems+="{'uuid': '${ha_system[$name]}', 'name': '$name', 'power_state': 'On'},"
    done
    cat >"$dir/sushy.conf" <<EOF
SUSHY_EMULATOR_LISTEN_IP = '$ip'
SUSHY_EMULATOR_LISTEN_PORT = $port
SUSHY_EMULATOR_SSL_CERT = '$dir/cert.pem'
SUSHY_EMULATOR_SSL_KEY = '$dir/key.pem'
SUSHY_EMULATOR_AUTH_FILE = '$dir/htpasswd'
SUSHY_EMULATOR_STATE_DIR = '$dir/sushy-state'
SUSHY_EMULATOR_FAKE_DRIVER = True
SUSHY_EMULATOR_FAKE_SYSTEMS = [$systems]
EOF
}

# ha_masakari_setup DIR IP PORT OPENSTACK_PORT VENV: DIR/masakari.conf for a Masakari API on
# IP:PORT (noauth2, no broker, no random notification delay) that checks hosts with the
# stand-in on 127.0.0.1:OPENSTACK_PORT (its own loopback), and its two SQLite databases
# (copied from VENV's template when there is one: `db sync` takes seconds).
ha_masakari_setup() {
    local dir=$1 ip=$2 port=$3 openstack_port=$4 venv=$5
    mkdir -p "$dir/locks"
    sed "s#/etc/masakari/healthcheck_disable#$dir/healthcheck_disable#" \
        "$venv/etc/masakari/api-paste.ini" >"$dir/api-paste.ini"
    cat >"$dir/masakari.conf" <<EOF
[DEFAULT]
auth_strategy = noauth2
transport_url = fake:/
masakari_api_listen = $ip
masakari_api_listen_port = $port
masakari_api_workers = 1
state_path = $dir
log_dir = $dir
notification_delay_max = 0
graceful_shutdown_timeout = 2
os_privileged_user_name = vigil
os_privileged_user_password = demo
os_privileged_user_tenant = service
os_privileged_user_auth_url = http://127.0.0.1:$openstack_port/identity/v3
[keystone_authtoken]
auth_type = password
[wsgi]
api_paste_config = $dir/api-paste.ini
keep_alive = false
[database]
connection = sqlite:///$dir/masakari.db
[oslo_concurrency]
lock_path = $dir/locks
[taskflow]
connection = sqlite:///$dir/taskflow.db
EOF
    if [[ -f $venv/vigil-db-template/masakari.db && -f $venv/vigil-db-template/taskflow.db ]]; then
        cp "$venv"/vigil-db-template/{masakari,taskflow}.db "$dir/"
    else
        "$venv/bin/masakari-manage" --config-file "$dir/masakari.conf" db sync >"$dir/masakari-sync.log" 2>&1
    fi
}

# ha_masakari_api URL CURL-ARGS...: one call to the Masakari API (noauth: every request is admin).
ha_masakari_api() {
    local url=$1
    shift
    curl -sf -H 'Content-Type: application/json' -H 'X-Auth-Token: admin:admin' "$@" "$url"
}

# ha_masakari_segment URL SEGMENT NAME...: a segment with every NAME as a COMPUTE host.
ha_masakari_segment() {
    local url=$1 segment_name=$2 segment name
    shift 2
    segment=$(ha_masakari_api "$url/v1/segments" -X POST \
        -d "{\"segment\": {\"name\": \"$segment_name\", \"recovery_method\": \"auto\", \"service_type\": \"COMPUTE\"}}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["segment"]["uuid"])') || return 1
    for name in "$@"; do
        ha_masakari_api "$url/v1/segments/$segment/hosts" -X POST -o /dev/null -d \
            "{\"host\": {\"name\": \"$name\", \"type\": \"COMPUTE\", \"control_attributes\": \"SSH\", \"on_maintenance\": false, \"reserved\": false}}" ||
            return 1
    done
}

# ha_config BMC_URL BMC_DIR MASAKARI_URL HA_LINE NAME...: the agents' ha/fencing/recovery
# sections (every agent holds the whole map: any of them may lead). Each NAME is fenced
# through its own system (ha_system[NAME]) of the emulator at BMC_URL, with the password
# and CA files of BMC_DIR; recovery through Masakari at MASAKARI_URL without Keystone.
ha_config() {
    local bmc_url=$1 bmc_dir=$2 masakari_url=$3 ha_line=$4 name
    shift 4
    echo "$ha_line"
    echo "fencing:"
    echo "  timeout: 60s"
    echo "  nodes:"
    for name in "$@"; do
        echo "    $name:"
        echo "      levels: [[{method: redfish, url: \"$bmc_url\", system: /redfish/v1/Systems/${ha_system[$name]},"
        echo "                 username: admin, password_file: $bmc_dir/bmc-password, ca_file: $bmc_dir/cert.pem, poll_interval: 200ms}]]"
    done
    echo "recovery: {driver: masakari, noauth: true, endpoint: \"$masakari_url\", timeout: 60s}"
}
