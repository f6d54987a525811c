# Sourced by the other scripts: puts a Swift toolchain on PATH and installs the
# system packages the build needs (only those missing).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
bash "$here/install-deps.sh"
cd "$here/.."
