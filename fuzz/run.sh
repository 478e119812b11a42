#!/usr/bin/env bash
# Builds the cargo-fuzz targets and runs each for a fixed time budget, then replays the
# committed regression inputs. Exits non-zero if any target crashed (the input is saved in
# fuzz/artifacts/<target>/ and its path printed).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 30 s, every target
#
# CI runs it with a short budget (.ci/run); run it for longer by hand, e.g.
# `bash fuzz/run.sh 1800 decode_pipeline`. The working corpus (fuzz/corpus/<target>/, git-ignored)
# is seeded from fuzz/seeds/<target>/ and keeps what the fuzzer found between runs.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them, so no nightly toolchain is needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

budget="${1:-30}"
shift || true
all_targets=(decode_pipeline notification_parse ct2_parse)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
if ! [[ $budget =~ ^[0-9]+$ ]] || ((budget < 1)); then
    echo "fuzz: the budget must be a whole number of seconds, got '$budget'" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP=1
# libFuzzer's runtime is C++, built by libfuzzer-sys with the system compiler.
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz: installing g++" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi

# One build of every target (release, debug assertions and overflow checks on, AddressSanitizer).
cargo fuzz build --fuzz-dir fuzz

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
logs="$(mktemp -d)"
# ct2_parse keeps a scratch model folder per process in /dev/shm (see the target).
trap 'rm -rf "$logs" /dev/shm/callscribe-fuzz-ct2-*' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    cp -n "fuzz/seeds/$target"/* "$corpus"/ 2>/dev/null || true

    # Regression inputs (crashers found earlier, now fixed) are run once each first.
    regressions="fuzz/regressions/$target"
    if [[ -d $regressions ]] && compgen -G "$regressions/*" >/dev/null; then
        if ! "$bin_dir/$target" -rss_limit_mb=2048 -timeout=20 "$regressions"/* \
            >"$logs/$target.regressions" 2>&1; then
            tail -n 40 "$logs/$target.regressions" >&2
            echo "fuzz: $target: a committed regression input fails again" >&2
            failed+=("$target (regression)")
        fi
    fi

    echo "fuzz: $target for ${budget}s" >&2
    status=0
    cargo fuzz run --fuzz-dir fuzz "$target" "$corpus" -- \
        -max_total_time="$budget" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" >"$logs/$target.log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -n 1)"
    per_s="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target.log" | tail -n 1)"
    units="$(find "$corpus" -type f | wc -l)"
    if ((status != 0)); then
        tail -n 60 "$logs/$target.log" >&2
        failed+=("$target")
        summary+=("$target: CRASH after ${runs:-?} executions (see fuzz/artifacts/$target/)")
    else
        summary+=("$target: ${runs:-?} executions, ${per_s:-?}/s, corpus $units inputs, no crash")
    fi
done

printf 'fuzz: %s\n' "${summary[@]}" >&2
if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
