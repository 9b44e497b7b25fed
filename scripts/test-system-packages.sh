#!/usr/bin/env bash
# The system programs the end-to-end tests use, from Debian's packages: chromium and chromedriver (the
# browser test) and PostgreSQL (the DuckLake catalog test). Installed once, when missing and when we may
# (root with apt-get); otherwise those tests skip and say why. Never downloads a browser of its own.
set -u
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test set-up: ${need[*]} missing and not installable here (needs root and apt-get): those tests will skip" >&2
    exit 0
fi
echo "test set-up: installing Debian packages ${need[*]} (once)" >&2
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/huunghi-apt.log 2>&1 \
    || echo "test set-up: apt-get failed (see /tmp/huunghi-apt.log): those tests will skip" >&2
# Debian starts a cluster on install; the tests start their own on a free port, so stop it again.
command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
done
exit 0
