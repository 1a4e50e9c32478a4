# shellcheck shell=bash
# Makes PostgreSQL and MariaDB available on loopback for the database tests
# and exports their DSNs. Sourced by .ci/run (under set -euo pipefail), so it
# never exits on success; it can also be sourced by hand:
#
#   source .ci/databases.sh && go test ./...
#
# On a fresh Debian 12 machine it installs postgresql and mariadb-server,
# starts them as their service users (no systemd needed), makes passwordless
# loopback access work for the test users (postgres, root), creates the
# database sence_test on both and exports:
#
#   SENCE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/sence_test?sslmode=disable
#   SENCE_TEST_MYSQL_DSN=root@tcp(127.0.0.1:3306)/sence_test?charset=utf8mb4&collation=utf8mb4_unicode_ci&parseTime=true&loc=UTC
#
# The MySQL DSN leaves multiStatements off: the schema and the demo loader
# send one statement per call. parseTime is on so DATETIME columns scan into
# time.Time (Moodle's own tables hold Unix times in BIGINTs).
#
# A DSN variable already set is kept, and that server is left alone.
# Running it again is harmless: every step checks before it acts.

_sence_db_log() { echo "databases.sh: $*"; }

_sence_db_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    _sence_db_log "need root (or sudo) for: $*" >&2
    return 1
  fi
}

_sence_db_apt_updated=""
_sence_db_install() {
  if [ -z "$_sence_db_apt_updated" ]; then
    _sence_db_log "apt-get update"
    _sence_db_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _sence_db_apt_updated=1
  fi
  _sence_db_log "installing $*"
  # policy-rc.d-less containers may fail to start the service from the
  # package's scripts; we start it ourselves below.
  _sence_db_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# _sence_db_wait CMD...: retries CMD for up to 60 s.
_sence_db_wait() {
  local i
  for i in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  return 1
}

_sence_pg_psql() {
  psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "$@"
}

_sence_db_postgres() {
  if [ -n "${SENCE_TEST_POSTGRES_DSN:-}" ]; then
    _sence_db_log "PostgreSQL: SENCE_TEST_POSTGRES_DSN already set, leaving it"
    return 0
  fi
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    _sence_db_log "PostgreSQL: already accepting connections on 127.0.0.1:5432"
  else
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      _sence_db_install postgresql postgresql-client
    fi
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$version main"; then
      _sence_db_log "PostgreSQL: creating cluster $version/main"
      _sence_db_as_root pg_createcluster "$version" main >/dev/null
    fi
    _sence_db_log "PostgreSQL: starting cluster $version/main"
    # pg_ctlcluster switches to the cluster owner (postgres) itself.
    _sence_db_as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    if ! _sence_db_wait pg_isready -q -h 127.0.0.1 -p 5432; then
      _sence_db_log "PostgreSQL did not become ready on 127.0.0.1:5432 within 60 s" >&2
      return 1
    fi
    _sence_db_log "PostgreSQL: ready"
  fi

  # Passwordless loopback access for the test user.
  if ! _sence_pg_psql -c 'SELECT 1' >/dev/null 2>&1; then
    local hba version
    hba=$(_sence_db_as_root su postgres -s /bin/sh -c "psql -tA -c 'SHOW hba_file'" 2>/dev/null || true)
    if [ -z "$hba" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      hba=/etc/postgresql/$version/main/pg_hba.conf
    fi
    if ! _sence_db_as_root grep -q 'sence-engine tests' "$hba"; then
      _sence_db_log "PostgreSQL: trusting user postgres on loopback in $hba"
      _sence_db_as_root sh -c "tmp=\$(mktemp) && { printf '%s\n' '# sence-engine tests: passwordless loopback access for the test user' 'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'; cat '$hba'; } > \"\$tmp\" && cat \"\$tmp\" > '$hba' && rm -f \"\$tmp\""
    fi
    _sence_db_as_root su postgres -s /bin/sh -c "psql -tA -c 'SELECT pg_reload_conf()'" >/dev/null
    if ! _sence_db_wait _sence_pg_psql -c 'SELECT 1'; then
      _sence_db_log "PostgreSQL: user postgres still cannot log in on 127.0.0.1 without a password" >&2
      return 1
    fi
  fi

  if [ "$(_sence_pg_psql -c "SELECT 1 FROM pg_database WHERE datname = 'sence_test'")" != "1" ]; then
    _sence_db_log "PostgreSQL: creating database sence_test"
    _sence_pg_psql -c "CREATE DATABASE sence_test ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
  else
    _sence_db_log "PostgreSQL: database sence_test exists"
  fi
  export SENCE_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:5432/sence_test?sslmode=disable"
  _sence_db_log "exported SENCE_TEST_POSTGRES_DSN=$SENCE_TEST_POSTGRES_DSN"
}

_sence_my_admin() {
  if command -v mariadb-admin >/dev/null 2>&1; then
    mariadb-admin "$@"
  else
    mysqladmin "$@"
  fi
}

_sence_my_client() {
  if command -v mariadb >/dev/null 2>&1; then
    mariadb "$@"
  else
    mysql "$@"
  fi
}

_sence_my_tcp() { _sence_my_client --protocol=tcp -h 127.0.0.1 -P 3306 -u root -N -B "$@"; }

_sence_db_mariadb() {
  if [ -n "${SENCE_TEST_MYSQL_DSN:-}" ]; then
    _sence_db_log "MariaDB: SENCE_TEST_MYSQL_DSN already set, leaving it"
    return 0
  fi
  if (command -v mariadb-admin || command -v mysqladmin) >/dev/null 2>&1 && _sence_my_admin ping >/dev/null 2>&1; then
    _sence_db_log "MariaDB: already running"
  else
    if [ ! -x /usr/sbin/mariadbd ]; then
      _sence_db_install mariadb-server mariadb-client
    fi
    _sence_db_as_root install -d -o mysql -g mysql -m 0755 /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ]; then
      _sence_db_log "MariaDB: initialising /var/lib/mysql"
      _sence_db_as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    _sence_db_log "MariaDB: starting mariadbd as mysql"
    _sence_db_as_root start-stop-daemon --start --oknodo --background --chuid mysql:mysql \
      --exec /usr/sbin/mariadbd -- --user=mysql
    if ! _sence_db_wait _sence_my_admin ping; then
      _sence_db_log "MariaDB did not answer within 60 s" >&2
      return 1
    fi
    _sence_db_log "MariaDB: ready"
  fi

  # Passwordless TCP access for root from loopback. Debian's root@localhost
  # only accepts the unix socket; keep that and add an empty password, and a
  # root@127.0.0.1 for servers that skip name resolution.
  if ! _sence_my_tcp -e 'SELECT 1' >/dev/null 2>&1; then
    _sence_db_log "MariaDB: allowing root without password on 127.0.0.1"
    _sence_db_as_root sh -c "$(command -v mariadb || command -v mysql) -u root" <<'SQL'
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    if ! _sence_my_tcp -e 'SELECT 1' >/dev/null 2>&1; then
      _sence_db_log "MariaDB: root still cannot log in on 127.0.0.1 without a password" >&2
      return 1
    fi
  fi

  if [ -z "$(_sence_my_tcp -e "SHOW DATABASES LIKE 'sence_test'")" ]; then
    _sence_db_log "MariaDB: creating database sence_test"
    _sence_my_tcp -e 'CREATE DATABASE sence_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
  else
    _sence_db_log "MariaDB: database sence_test exists"
  fi
  export SENCE_TEST_MYSQL_DSN="root@tcp(127.0.0.1:3306)/sence_test?charset=utf8mb4&collation=utf8mb4_unicode_ci&parseTime=true&loc=UTC"
  _sence_db_log "exported SENCE_TEST_MYSQL_DSN=$SENCE_TEST_MYSQL_DSN"
}

_sence_db_postgres
_sence_db_mariadb
unset -f _sence_db_log _sence_db_as_root _sence_db_install _sence_db_wait _sence_pg_psql \
  _sence_db_postgres _sence_my_admin _sence_my_client _sence_my_tcp _sence_db_mariadb
unset _sence_db_apt_updated
