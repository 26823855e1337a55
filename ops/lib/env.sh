# Sourced by the ops/ scripts: puts the pinned toolchain first on PATH and names the paths
# every script shares.
SIDEBRIDGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SIDEBRIDGE_ROOT
export PATH="$SIDEBRIDGE_ROOT/.tools/bin:$PATH"
export SOLC_PATH="$SIDEBRIDGE_ROOT/.tools/bin/solc"
