#!/usr/bin/env bash
# Generate ./configure from configure.ac. Run it once after a fresh clone and
# again after changing configure.ac.
set -euo pipefail

cd "$(dirname "$0")"
if ! command -v autoconf >/dev/null 2>&1; then
    echo "autogen.sh: autoconf not found: install it (Debian: apt-get install autoconf, or run scripts/install-deps)" >&2
    exit 1
fi
autoconf --force
# autoconf keeps the previous script as configure~, which nothing uses.
rm -f configure~
echo "autogen.sh: generated ./configure; next run: ./configure --with-stage1-flavors=fly && make"
