#!/usr/bin/env bash
# Builds the cargo-fuzz targets and runs them in one of two modes.
#
#   bash fuzz/run.sh [TARGET...]                      # check: deterministic, what CI runs
#   bash fuzz/run.sh --explore SECONDS [TARGET...]    # exploration: random seed, a time budget
#
# check (the default; `.ci/run` runs it): for each target, every committed input is executed once
# — fuzz/regressions/<target>/ (crashers found earlier, now fixed), fuzz/corpus/<target>/ (the
# corpus exploration has grown, committed) and fuzz/seeds/<target>/ — then the target mutates a
# scratch copy of them for a fixed number of runs from a fixed seed (FUZZ_RUNS below). Nothing
# depends on the clock or on what an earlier run left behind: counts, not a time budget; no
# corpus reload (-reload=0); the scratch corpus is deleted. The replay is exact. The mutation
# runs start identically, but can drift apart after a while: the targets' std HashMaps (in
# symphonia's registries, the CTranslate2 index) hash with per-process random keys, which moves
# coverage a little, and coverage steers later mutations. So a bug that only a drifted run
# would reach could make one run fail where another passed; every crash is still a real bug
# (and then becomes a committed regression input), and what the committed inputs reach is
# checked the same way every time.
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

# Mutation runs per target in check mode, and the seed they start from. Sized so the three
# targets take about a minute together on one core of a 2-core CI machine. Counts, not a time
# budget: a slower machine takes longer but reaches the same verdict.
declare -A FUZZ_RUNS=([decode_pipeline]=4000 [notification_parse]=60000 [ct2_parse]=20000)
readonly FUZZ_SEED=20261203

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

    # 2. Mutation from the committed inputs: a scratch corpus in check mode, so the run leaves
    # nothing behind; in explore mode, new coverage is merged into the committed corpus after.
    work="$scratch/corpus-$target"
    mkdir -p "$work"
    if [[ $mode == check ]]; then
        limit=(-seed="$FUZZ_SEED" -runs="${FUZZ_RUNS[$target]}" -reload=0)
        echo "fuzz: $target: $replayed inputs replayed; ${FUZZ_RUNS[$target]} runs from seed $FUZZ_SEED" >&2
    else
        limit=(-max_total_time="$budget")
        echo "fuzz: $target: $replayed inputs replayed; exploring for ${budget}s" >&2
    fi
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
    if [[ $mode == explore ]]; then
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
    fi
    summary+=("$line")
done

printf 'fuzz: %s\n' "${summary[@]}" >&2
if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
