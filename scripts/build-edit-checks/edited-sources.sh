# Sourced by scripts/check-build-edits.sh and benches/kernels.sh (with `root` set and the working
# directory at it): finds the sources of the whisper-rs-sys in Cargo.lock and makes, in a
# temporary directory removed on exit, copies of llamafile's sgemm.cpp and whisper.cpp with
# .cargo/ggml-cpu-edits.cmake applied. Sets `ggml` (the shipped ggml tree), `sgemm` (sgemm.cpp's
# path under it, and under "$work/edited/ggml"), `whisper` (the shipped whisper.cpp) and `work`;
# the edit's log is "$work/cmake.log".
version="$(awk '/^name = "whisper-rs-sys"/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
src="$(cargo metadata --format-version 1 --locked 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(p["manifest_path"] for p in d["packages"] if p["name"]=="whisper-rs-sys" and p["version"]==sys.argv[1]))' "$version")"
ggml="$(dirname "$src")/whisper.cpp/ggml"
sgemm=src/ggml-cpu/llamafile/sgemm.cpp
[ -f "$ggml/$sgemm" ] || { echo "$0: no sgemm.cpp under $ggml" >&2; exit 2; }
whisper="$(dirname "$ggml")/src/whisper.cpp"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$work/edited/ggml/$sgemm")" "$work/edited/src"
cp "$ggml/$sgemm" "$work/edited/ggml/$sgemm"
cp "$whisper" "$work/edited/src/"
(cd "$work/edited" && cmake -P "$root/.cargo/ggml-cpu-edits.cmake") >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log" >&2; exit 2; }
