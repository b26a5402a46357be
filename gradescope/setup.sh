#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04 or
# newer). Nothing is cloned: minigrad comes from the wheel next to this script, its dependencies
# at the versions pinned in requirements.txt.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-venv
    python=python3
else  # Ubuntu 22.04's python3 is 3.10
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    python=python3.11
fi
"$python" -m venv /opt/minigrad
/opt/minigrad/bin/python -m pip install --no-cache-dir --quiet -r requirements.txt
/opt/minigrad/bin/python -m pip install --no-cache-dir --quiet --no-deps ./@WHEEL@
id student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin student
# The secret and the scripts: readable by root only, never by the student's notebook.
chmod -R go-rwx /autograder/source
