#!/usr/bin/env bash
# Write random SECRET_KEY and EXPORT_KEY values to instance/secret_key and instance/export_key, once:
# existing keys are kept (a new EXPORT_KEY would change every pseudonym, a new SECRET_KEY would log
# everyone out). Files are mode 600; instance/ is never committed.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
mkdir -p instance
for key in secret_key export_key; do
  if [ ! -s "instance/$key" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' > "instance/$key")
  fi
  chmod 600 "instance/$key"
done
