#!/usr/bin/env bash
# Provisions the workshop VM (Ubuntu 24.04; run by `vagrant up` as root). Idempotent: running it
# again (`vagrant provision`) installs only what is missing and changes nothing that is right.
#
#   - build tools, busybox-static (the chapters' root filesystems are made of it), util-linux
#   - Rust (rustup, stable, with clippy and rustfmt) for every user: installed in /opt/rust and
#     linked into /usr/local/bin, so `cargo` works for vagrant, under sudo, and in
#     `vagrant ssh -c '...'` (a shell that reads no profile)
#   - mdbook, to read the book from the VM (`mdbook serve book -n 0.0.0.0`, port 3000)
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
packages=(build-essential pkg-config git curl ca-certificates busybox-static util-linux iproute2 nftables)
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
# which sudo and `vagrant ssh -c` would not pass on.
toolchain=$("$CARGO_HOME/bin/rustup" toolchain list | sed -n 's/ (default)$//p' | head -n 1)
[ -n "$toolchain" ] || { echo "provision: rustup has no default toolchain" >&2; exit 1; }
for tool in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
    if [ -x "$RUSTUP_HOME/toolchains/$toolchain/bin/$tool" ]; then
        ln -sfn "$RUSTUP_HOME/toolchains/$toolchain/bin/$tool" "/usr/local/bin/$tool"
    fi
done
ln -sfn "$CARGO_HOME/bin/rustup" /usr/local/bin/rustup
# For `rustup` itself in login shells.
cat >/etc/profile.d/workbook-rust.sh <<PROFILE
export RUSTUP_HOME=$RUSTUP_HOME
PROFILE

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
    sysctl -q -p /etc/sysctl.d/60-workbook-userns.conf
    say "unprivileged user namespaces: allowed ($(basename "$knob") = $(cat "$knob"))"
fi

# ---- a check that the VM is what the book assumes ----------------------------------------------
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    say "cgroup layout: pure v2 (controllers: $(cat /sys/fs/cgroup/cgroup.controllers))"
else
    say "warning: /sys/fs/cgroup is not a pure cgroup v2 hierarchy; the cgroup chapter expects one"
fi
say "ready: vagrant ssh -c 'cd /vagrant && sudo cargo test'"
