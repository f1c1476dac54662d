# shellcheck shell=bash
# Functions shared by the build scripts. Source it after `set -euo pipefail`.

# Fixed permissions for everything the scripts create, so that the ACIs do
# not depend on the caller's umask.
umask 022

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# die MESSAGE: print MESSAGE prefixed with the script name and exit 1.
die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# go_build_static OUTPUT PACKAGE: build a static, reproducible binary.
# -trimpath drops local paths, -buildid= and -buildvcs=false drop the values
# that differ between checkouts, and -s -w drop the symbol tables.
go_build_static() {
    local output=$1 package=$2
    (cd "$repo_root" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags='-s -w -buildid=' -o "$output" "$package")
    chmod 0755 "$output"
}

# acibuild ARGS...: run scripts/acibuild from $ACIBUILD, building it there
# first if needed (into a temporary directory when ACIBUILD is unset).
acibuild() {
    if [[ -z "${ACIBUILD:-}" ]]; then
        acibuild_dir=$(mktemp -d)
        trap 'rm -rf "$acibuild_dir"' EXIT
        ACIBUILD=$acibuild_dir/acibuild
        go_build_static "$ACIBUILD" ./scripts/acibuild
    elif [[ ! -x "$ACIBUILD" ]]; then
        mkdir -p "$(dirname "$ACIBUILD")"
        go_build_static "$ACIBUILD" ./scripts/acibuild
    fi
    "$ACIBUILD" "$@"
}

# fresh_dir DIR: remove DIR (refusing when anything is mounted below it) and
# create it empty.
fresh_dir() {
    "$repo_root/scripts/remove-tree" "$1"
    mkdir -p "$1"
}

# image_manifest NAME VERSION EXEC_JSON [EXTRA_APP_JSON]: print an image
# manifest with the labels stage0 needs (version, os, arch) and an app that
# runs as root. EXEC_JSON is a JSON array. EXTRA_APP_JSON holds more members
# of the "app" object, each followed by a comma.
image_manifest() {
    local name=$1 version=$2 exec_json=$3 extra=${4:-}
    local arch
    arch=$("$repo_root/scripts/appc-arch")
    cat <<MANIFEST
{
    "acKind": "ImageManifest",
    "acVersion": "0.8.11",
    "name": "$name",
    "labels": [
        {"name": "version", "value": "$version"},
        {"name": "arch", "value": "$arch"},
        {"name": "os", "value": "linux"}
    ],
    "app": {
        $extra
        "exec": $exec_json,
        "user": "0",
        "group": "0"
    }
}
MANIFEST
}
