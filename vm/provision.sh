#!/usr/bin/env bash
# Provisions the workshop VM (Debian 12 by default, Ubuntu 24.04 with WORKBOOK_VM_BOX; run by
# `vagrant up` as root). Idempotent: running it again (`vagrant provision`) installs only what is
# missing and changes nothing that is right. vm/test-provision runs it twice in a Debian 12
# container (CI: .ci/vm-checks), so a package name that does not exist is found there.
#
#   - build tools, busybox-static (the chapters' root filesystems are made of it), util-linux,
#     sudo (`cargo workbook test` runs the tests as root through it)
#   - Rust (rustup, stable, with clippy and rustfmt) for every user: installed in /opt/rust and
#     linked into /usr/local/bin, so `cargo` works for vagrant, under sudo, and in
#     `vagrant ssh -c '...'` (a shell that reads no profile)
#   - podman, containerd and runc (chapter 8's tests drive the runtime through them, beside runc),
#     and debootstrap (the systemd root filesystem of the systemd-driver test)
#   - mdbook, to read the book from the VM (`mdbook serve book -n 0.0.0.0`, port 3000)
#   - WORKBOOK_REQUIRE_PRIVILEGED=1 in every session, sudo included: a privileged test that
#     cannot run fails instead of being skipped, so the VM never shows a skip as a pass
#   - unprivileged user namespaces allowed: Ubuntu 23.10+ lets AppArmor refuse them to programs
#     without a profile (kernel.apparmor_restrict_unprivileged_userns=1), and the rootless chapter
#     needs them
set -euo pipefail

MDBOOK_VERSION=0.4.52
RUST_HOME=/opt/rust
export RUSTUP_HOME=$RUST_HOME/rustup CARGO_HOME=$RUST_HOME/cargo
export DEBIAN_FRONTEND=noninteractive

say() { printf 'provision: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "provision: run me as root (vagrant does)" >&2; exit 1; }

# ---- packages ----------------------------------------------------------------------------------
# apparmor: apparmor_parser, with which tests/ch08_apparmor.rs loads its profile where AppArmor is on.
# podman, containerd and runc: chapter 8's tests drive the runtime through the engines, side by
# side with runc; debootstrap builds the systemd root filesystem of tests/ch08_systemd.rs.
packages=(build-essential pkg-config git curl ca-certificates sudo busybox-static util-linux iproute2 nftables apparmor
          podman conmon netavark iptables containerd runc debootstrap)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    say "packages: all there"
fi

# ---- Rust --------------------------------------------------------------------------------------
if [ ! -x "$CARGO_HOME/bin/rustup" ]; then
    say "installing Rust (rustup, stable toolchain) into $RUST_HOME"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --no-modify-path --profile minimal --default-toolchain stable -c clippy,rustfmt
else
    say "Rust: there ($("$CARGO_HOME/bin/rustc" --version))"
fi
# The toolchain's own binaries, not rustup's proxies: they need no RUSTUP_HOME in the environment,
# which sudo and `vagrant ssh -c` would not pass on. The default toolchain's directory is asked of
# rustc itself: `rustup toolchain list` marks it "(default)" or, since rustup 1.28,
# "(active, default)", which the test of this script caught.
sysroot=$("$CARGO_HOME/bin/rustc" --print sysroot || true)
if [ ! -x "$sysroot/bin/cargo" ]; then
    echo "provision: rustup has no default toolchain with cargo in $RUSTUP_HOME" >&2
    exit 1
fi
for tool in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
    if [ -x "$sysroot/bin/$tool" ]; then
        ln -sfn "$sysroot/bin/$tool" "/usr/local/bin/$tool"
    fi
done
ln -sfn "$CARGO_HOME/bin/rustup" /usr/local/bin/rustup
# For `rustup` itself in login shells.
cat >/etc/profile.d/workbook-rust.sh <<PROFILE
export RUSTUP_HOME=$RUSTUP_HOME
PROFILE

# ---- no skipped test shown as a pass -------------------------------------------------------------
# With WORKBOOK_REQUIRE_PRIVILEGED=1 a privileged test that cannot run fails, and a test binary
# built without root, whose privileged tests are ignored, fails too (tests/common/mod.rs). Every
# way in must carry it: /etc/environment is read by pam_env for ssh sessions (`vagrant ssh`,
# `vagrant ssh -c`, which reads no profile) and for sudo on Debian and Ubuntu; sudoers keeps it
# where sudo's PAM does not read that file; profile.d covers login shells.
grep -qx 'WORKBOOK_REQUIRE_PRIVILEGED=1' /etc/environment 2>/dev/null ||
    echo 'WORKBOOK_REQUIRE_PRIVILEGED=1' >>/etc/environment
echo 'export WORKBOOK_REQUIRE_PRIVILEGED=1' >/etc/profile.d/workbook-tests.sh
sudoers=$(mktemp)
echo 'Defaults env_keep += "WORKBOOK_REQUIRE_PRIVILEGED"' >"$sudoers"
visudo -c -q -f "$sudoers" || { echo "provision: visudo refused the sudoers line" >&2; exit 1; }
install -m 0440 "$sudoers" /etc/sudoers.d/workbook
rm -f "$sudoers"
say "tests: WORKBOOK_REQUIRE_PRIVILEGED=1 for every session (/etc/environment, sudoers, profile)"

# ---- mdbook ------------------------------------------------------------------------------------
if [ "$(mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
    say "building mdbook $MDBOOK_VERSION (cargo install, a few minutes)"
    cargo install --locked --quiet --root /usr/local --version "$MDBOOK_VERSION" mdbook
else
    say "mdbook: there ($(mdbook --version))"
fi

# ---- unprivileged user namespaces (the rootless chapter) ---------------------------------------
knob=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
if [ -e "$knob" ]; then
    echo 'kernel.apparmor_restrict_unprivileged_userns = 0' >/etc/sysctl.d/60-workbook-userns.conf
    sysctl -q -p /etc/sysctl.d/60-workbook-userns.conf ||
        say "warning: could not set it now (read-only /proc/sys?); it is set at the next boot"
    say "unprivileged user namespaces: allowed ($(basename "$knob") = $(cat "$knob"))"
fi

# ---- a check that the VM is what the book assumes ----------------------------------------------
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    say "cgroup layout: pure v2 (controllers: $(cat /sys/fs/cgroup/cgroup.controllers))"
else
    say "warning: /sys/fs/cgroup is not a pure cgroup v2 hierarchy; the cgroup chapter expects one"
fi
say "ready: vagrant ssh -c 'cd /vagrant && cargo workbook test'"
