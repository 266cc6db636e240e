# shellcheck shell=bash
# Helpers shared by the host-side scripts of the QEMU runner (sourced, not run).
#
# Every script prints what it is doing on stderr with the prefix "run-tests:", so a learner
# never looks at a silent terminal while a kernel downloads or a VM boots.

# The repository root: this file lives in vm/qemu/.
# shellcheck disable=SC2034 # used by the scripts that source this file
VM_QEMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034
REPO_ROOT=$(cd "$VM_QEMU_DIR/../.." && pwd)

# Where downloaded kernels and built initramfs images are kept between runs.
# vm/qemu/cache/ is gitignored; WORKBOOK_VM_CACHE moves it (e.g. to ~/.cache).
# shellcheck disable=SC2034
VM_CACHE=${WORKBOOK_VM_CACHE:-$VM_QEMU_DIR/cache}

say() { printf 'run-tests: %s\n' "$*" >&2; }

# A tool error: one sentence, exit 125 (the project's status for "the tool failed").
die() {
    printf 'run-tests: error: %s\n' "$*" >&2
    exit 125
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is not installed; $2"
}

# Quotes a value for a POSIX shell (single quotes; a quote inside becomes '\'').
shquote() {
    local s=${1//\'/\'\\\'\'}
    printf "'%s'" "$s"
}

# Moves a finished temp file or directory into the cache under its final name in one rename,
# so an interrupted run never leaves a half-written artefact under a name a later run trusts.
# If another run got there first, its copy is kept and ours is dropped.
publish() {
    local tmp=$1 final=$2
    if ! mv -T "$tmp" "$final" 2>/dev/null; then
        rm -rf "$tmp"
        [ -e "$final" ] || die "could not move $tmp to $final"
    fi
}
