#!/usr/bin/env bash
# Builds the cargo-fuzz targets and runs them in one of two modes.
#
#   bash fuzz/run.sh [TARGET...]                      # check: deterministic, what CI runs
#   bash fuzz/run.sh --explore SECONDS [TARGET...]    # exploration: random seed, a time budget
#
# check (the default; `.ci/run` runs it): for each target, every committed input is executed
# once — fuzz/regressions/<target>/ (crashers found earlier, now fixed), fuzz/corpus/<target>/
# (the coverage-guided corpus exploration has grown, committed) and fuzz/seeds/<target>/ — and
# nothing else. No mutation: a mutation run is not reproducible even from a fixed seed and a
# fixed count, because the targets' std HashMaps (symphonia's registries, the CTranslate2 index)
# hash with per-process random keys, which moves coverage, and coverage steers later mutations.
# Such a run passed here and crashed in CI on the same commit (2026-12-03, c28b155). So the CI
# verdict depends only on the commit; finding new bugs is the job of --explore, whose finds
# are committed (as corpus inputs, or as regressions once fixed) and from then on replayed here.
#
# --explore: each target runs for SECONDS from a random seed, starting from the same committed
# inputs; new coverage is merged into fuzz/corpus/<target>/ (commit it), a crash is saved in
# fuzz/artifacts/<target>/ with its path printed. Then follow fuzz/README.md "When the fuzzer
# finds something": a fix, a test, and the input in fuzz/regressions/<target>/.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them, so no nightly toolchain is needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=check
budget=0
if [[ ${1:-} == --explore ]]; then
    mode=explore
    budget="${2:-}"
    shift 2 || true
    if ! [[ $budget =~ ^[0-9]+$ ]] || ((budget < 1)); then
        echo "fuzz: --explore needs a whole number of seconds per target, got '$budget'" >&2
        exit 2
    fi
fi
all_targets=(decode_pipeline notification_parse ct2_parse)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

export RUSTC_BOOTSTRAP=1
# shellcheck source=../scripts/retry.sh
source scripts/retry.sh
# libFuzzer's runtime is C++, built by libfuzzer-sys with the system compiler.
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz: installing g++" >&2
    export DEBIAN_FRONTEND=noninteractive
    retry "apt-get update" apt-get update -qq
    retry "apt-get install g++" apt-get install -y -qq g++ >/dev/null
fi
# A pinned version, so a new cargo-fuzz release cannot change a commit's verdict.
readonly CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    retry "cargo install cargo-fuzz" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" \
        --locked --quiet
fi

# One build of every target (release, debug assertions and overflow checks on, AddressSanitizer).
cargo fuzz build --fuzz-dir fuzz

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
scratch="$(mktemp -d)"
# ct2_parse writes a scratch model folder per process: in RAM where there is /dev/shm, and in a
# folder of this run's own, so two runs side by side never delete each other's.
ram="$(mktemp -d -p /dev/shm callscribe-fuzz.XXXXXX 2>/dev/null || mktemp -d)"
export CALLSCRIBE_FUZZ_SCRATCH="$ram"
trap 'rm -rf "$scratch" "$ram"' EXIT
common=(-timeout=20 -rss_limit_mb=2048 -print_final_stats=1)
failed=()
summary=()

# The committed inputs of a target that exist, as directories.
inputs_of() {
    local dir
    for dir in "fuzz/regressions/$1" "fuzz/corpus/$1" "fuzz/seeds/$1"; do
        if [[ -d $dir ]] && compgen -G "$dir/*" >/dev/null; then
            echo "$dir"
        fi
    done
}

for target in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$target"
    mapfile -t inputs < <(inputs_of "$target")
    log="$scratch/$target.log"

    # 1. Every committed input once (-runs=0 executes the given inputs and nothing else).
    if ! "$bin_dir/$target" "${common[@]}" -runs=0 "${inputs[@]}" >"$scratch/$target.replay" 2>&1; then
        tail -n 40 "$scratch/$target.replay" >&2
        echo "fuzz: $target: a committed input fails" >&2
        failed+=("$target (replay)")
        summary+=("$target: a committed input FAILS (see above)")
        continue
    fi
    replayed="$(find "${inputs[@]}" -type f | wc -l)"

    if [[ $mode == check ]]; then
        summary+=("$target: $replayed committed inputs replayed, no crash")
        continue
    fi

    # 2. Exploration from the committed inputs, in a scratch corpus; new coverage is merged
    # into the committed corpus after.
    work="$scratch/corpus-$target"
    mkdir -p "$work"
    limit=(-max_total_time="$budget")
    echo "fuzz: $target: $replayed inputs replayed; exploring for ${budget}s" >&2
    status=0
    "$bin_dir/$target" "${common[@]}" "${limit[@]}" \
        -artifact_prefix="fuzz/artifacts/$target/" "$work" "${inputs[@]}" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    per_s="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    if ((status != 0)); then
        tail -n 60 "$log" >&2
        failed+=("$target")
        summary+=("$target: CRASH after ${runs:-?} executions (input in fuzz/artifacts/$target/)")
        continue
    fi
    line="$target: $replayed inputs replayed, ${runs:-?} executions (${per_s:-?}/s), no crash"
    # Keep what reaches new edges (-use_counters=0: hit counts don't count) beyond what the
    # committed inputs already reach, so the committed corpus stays small.
    base="$scratch/merge-$target"
    mkdir -p "$base" "fuzz/corpus/$target"
    for dir in "${inputs[@]}"; do cp -n "$dir"/* "$base"/; done
    find "$base" -type f -printf '%f\n' | sort >"$scratch/$target.known"
    "$bin_dir/$target" "${common[@]}" -merge=1 -use_counters=0 "$base" "$work" \
        >"$scratch/$target.merge" 2>&1
    added=0
    while read -r name; do
        mv "$base/$name" "fuzz/corpus/$target/"
        added=$((added + 1))
    done < <(find "$base" -type f -printf '%f\n' | sort | comm -13 "$scratch/$target.known" -)
    line+=", $added inputs reaching new edges added to fuzz/corpus/$target/"
    summary+=("$line")
done

printf 'fuzz: %s\n' "${summary[@]}" >&2
if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
