#!/usr/bin/env bash
# The benchmark of GitHub issue 6: a large synthetic Moodle, the engine
# against a hand-written set-based program and the per-student pattern of
# PHP integrations, each run in its own process; identical payloads are
# required and wall time, CPU time and peak memory are reported.
#
#   bench/run.sh [--scale small|tenth|reference|CURSOS:MATRICULAS] [--db postgres|mysql|sqlite|all]
#                [--dedication block|log] [--batch N] [--reload] [--runners engine,handwritten,perstudent]
#                [--rounds N] [--nightly [--new-events F]]
#
# Scales: small = 5 courses × 200 enrolments (seconds), tenth = 20 × 5,000
# (about 2 M log rows), reference = 200 × 50,000 (about 20 M log rows; the
# load takes 12 to 25 minutes per server and 8 to 10 GB of disk each).
#
# Servers: SENCE_BENCH_POSTGRES_DSN and SENCE_BENCH_MYSQL_DSN name the
# database to use (created if missing); by default the local servers of
# .ci/databases.sh, in a database sence_bench_<scale>. A site already
# loaded at that scale is reused unless --reload.
#
# --nightly measures incremental dedication instead: two nights of the
# engine with dedication from the log, F of the log (default 0.01) added
# between them, and the second night recomputed from the whole log, which
# must send the same (bench-out/<scale>-<db>-nightly/nightly.json). The
# added events are deleted afterwards.
#
# Results go to bench-out/<scale>-<db>[-log][-bN]/ (outputs and report.json).
set -euo pipefail
cd "$(dirname "$0")/.."

scale=small db=all dedication=block batch=0 reload=0 runners=engine,handwritten,perstudent rounds=1 nightly=0 newevents=0.01
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --dedication) dedication=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --reload) reload=1; shift ;;
    --runners) runners=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --nightly) nightly=1; shift ;;
    --new-events) newevents=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "opción desconocida: $1" >&2; exit 2 ;;
  esac
done

case "$scale" in
  small) courses=5 enrolments=200 ;;
  tenth) courses=20 enrolments=5000 ;;
  reference) courses=200 enrolments=50000 ;;
  *:*) courses=${scale%%:*} enrolments=${scale##*:} ;;
  *) echo "escala desconocida: $scale" >&2; exit 2 ;;
esac
name="${scale//:/x}"

mkdir -p bench-out
go build -o bench-out/sencebench ./bench/cmd/sencebench
bin=bench-out/sencebench

dsn_for() {
  case "$1" in
    postgres) echo "${SENCE_BENCH_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/sence_bench_${name}?sslmode=disable}" ;;
    mysql) echo "${SENCE_BENCH_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/sence_bench_${name}}" ;;
    sqlite) echo "$PWD/bench-out/sence_bench_${name}.db" ;;
  esac
}

dbs=$db
[ "$db" = all ] && dbs="sqlite postgres mysql"
status=0
for d in $dbs; do
  dsn=$(dsn_for "$d")
  echo "== $d: sitio de $courses cursos y $enrolments matrículas"
  if [ "$reload" = 1 ]; then
    $bin load --db "$d" --dsn "$dsn" --create --replace --courses "$courses" --enrolments "$enrolments"
  else
    $bin load --db "$d" --dsn "$dsn" --create --keep --courses "$courses" --enrolments "$enrolments" ||
      $bin load --db "$d" --dsn "$dsn" --create --replace --courses "$courses" --enrolments "$enrolments"
  fi
  if [ "$nightly" = 1 ]; then
    out="bench-out/${name}-${d}-nightly"
    [ "$batch" != 0 ] && out="${out}-b${batch}"
    echo "== $d: dedicación incremental (resultados en $out)"
    $bin nightly --db "$d" --dsn "$dsn" --batch "$batch" --new-events "$newevents" --warmup --out "$out" || status=1
    continue
  fi
  out="bench-out/${name}-${d}"
  [ "$dedication" != block ] && out="${out}-${dedication}"
  [ "$batch" != 0 ] && out="${out}-b${batch}"
  echo "== $d: comparación (resultados en $out)"
  $bin compare --db "$d" --dsn "$dsn" --dedication "$dedication" --batch "$batch" --runners "$runners" \
    --rounds "$rounds" --warmup --out "$out" || status=1
done
exit $status
