#!/usr/bin/env bash
# Makes sure what the tests need is present: Chromium + ChromeDriver + CJK fonts for the
# browser and print tests, pdftotext (poppler-utils) to read printed PDFs, LibreOffice Calc
# (headless) to print exported sheets, Python's openpyxl to
# read exported workbooks back, and a running PostgreSQL with a `dengji` role that may create
# databases.
# Installs with apt-get when run as root; otherwise says what is missing.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt+=(fonts-noto-cjk)
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
# LibreOffice Calc without a display: prints exported sheets to PDF as a user's office suite does.
command -v soffice >/dev/null 2>&1 || need_apt+=(libreoffice-calc-nogui)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need_apt[*]} (run as root, or: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# openpyxl: a spreadsheet reader we did not write, to read our Excel exports back.
python3 -c "import openpyxl" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore openpyxl

# PostgreSQL: start the first cluster if nothing answers.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1" "$2}')
  if [ -z "$cluster" ]; then
    echo "no PostgreSQL cluster found" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  pg_ctlcluster $cluster start
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null

if [ "$(id -u)" -eq 0 ]; then
  su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname = 'dengji'\" | grep -q 1 \
    || psql -q -c \"CREATE ROLE dengji LOGIN CREATEDB PASSWORD 'dengji'\""
  # Drop databases left by earlier test runs.
  su postgres -c "psql -q -At -c \"SELECT datname FROM pg_database WHERE datname LIKE 'dengji\\_t\\_%'\"" \
    | while read -r db; do su postgres -c "dropdb --if-exists '$db'"; done
fi
