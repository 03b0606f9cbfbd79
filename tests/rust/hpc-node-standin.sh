#!/usr/bin/env bash
# hpc-node-standin.sh SEEDS-DIR OUT-DIR
# hpc-node-standin.sh --placeholder OUT-DIR
# Generates the stand-in for the upstream `hpc-node` crate from the seed
# files (cgroup.rs, mount.rs) so the crate's `hpc-node` feature builds and
# is tested here without crates.io. Never committed: the seeds are the
# source. A seed copied from a page with line numbers ("12  pub fn ...",
# "12| pub fn ...", "12<TAB>pub fn ...") has them stripped, and only when every line has one.
set -euo pipefail
seeds=${1:?usage: hpc-node-standin.sh SEEDS-DIR|--placeholder OUT-DIR}
out=${2:?}
mkdir -p "$out/src"
# Without the seeds: an empty crate of that name, only so that cargo can
# resolve the optional dependency; the feature is then not built.
if [ "$seeds" = --placeholder ]; then
        printf '//! hpc-node placeholder: the seeds were not found; the feature is not built.\n' >"$out/src/cgroup.rs"
        : >"$out/src/mount.rs"
        seeds=
fi
for f in ${seeds:+cgroup mount}; do
        src="$seeds/$f.rs"
        [ -r "$src" ] || { echo "hpc-node-standin: $src: not readable" >&2; exit 1; }
        if ! grep -qvE '^[[:space:]]*[0-9]+([[:space:]]|[|:]|$)' "$src"; then
                sed -E 's/^[[:space:]]*[0-9]+([|:] ?|\t| )?//' "$src" >"$out/src/$f.rs.new"
        else
                cp "$src" "$out/src/$f.rs.new"
        fi
        # only a change rewrites the file: cargo then rebuilds nothing
        if cmp -s "$out/src/$f.rs.new" "$out/src/$f.rs"; then rm "$out/src/$f.rs.new"; else mv "$out/src/$f.rs.new" "$out/src/$f.rs"; fi
done
cat >"$out/Cargo.toml.new" <<'EOT'
[package]
name = "hpc-node"
version = "2026.1.0"
edition = "2021"
description = "stand-in generated from the seeds (tests/rust/hpc-node-standin.sh)"

[lib]
path = "src/lib.rs"

[dependencies]
serde = { version = "1", features = ["derive"] }
thiserror = "1"

[dev-dependencies]
serde_json = "1"
EOT
cat >"$out/src/lib.rs.new" <<'EOT'
//! Stand-in for the upstream hpc-node crate, generated from the seeds.
pub mod cgroup;
pub mod mount;
pub use cgroup::*;
pub use mount::*;
EOT
for f in Cargo.toml src/lib.rs; do
        if cmp -s "$out/$f.new" "$out/$f"; then rm "$out/$f.new"; else mv "$out/$f.new" "$out/$f"; fi
done
