#!/usr/bin/env bash
# Fuzzing: builds every cargo-fuzz target (fuzz/fuzz_targets) once, then runs each for a
# bounded time on its committed corpus (fuzz/corpus/<target>, plus fuzz/seeds/<target> when
# present). New inputs go to a temporary folder, so the repository stays clean. A crash, a
# failed invariant or a hang fails the run; the input is kept and its path printed, with the
# bytes in base64 (CI machines do not last).
#
# cargo-fuzz (libFuzzer) needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them, so no second toolchain is installed.
#
#   bash .ci/fuzz.sh            # 20 s per target
#   FUZZ_SECONDS=60 bash .ci/fuzz.sh
#   FUZZ_SANITIZER=address bash .ci/fuzz.sh   # AddressSanitizer: slower build, see README
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

# libfuzzer-sys compiles libFuzzer (C++).
if ! command -v c++ >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

start=$(date +%s)
cargo fuzz build --sanitizer "$sanitizer"
echo "fuzz: built every target in $(($(date +%s) - start)) s (sanitizer: $sanitizer)"

work=$(mktemp -d)
findings="${FUZZ_FINDINGS:-$(mktemp -d)}"
failed=()
for target in $(cargo fuzz list); do
  mkdir -p "$work/$target" "$findings/$target"
  dirs=("$work/$target" "corpus/$target")
  [ -d "seeds/$target" ] && dirs+=("seeds/$target")
  log="$findings/$target.log"
  # libFuzzer writes new inputs to the first folder only; later -flags override cargo-fuzz's.
  if cargo fuzz run --sanitizer "$sanitizer" "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/$target/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target ok ($runs runs in $seconds s)"
  else
    failed+=("$target")
    tail -n 40 "$log"
    for input in "$findings/$target"/*; do
      [ -f "$input" ] || continue
      echo "fuzz: $target FAILED on $input"
      echo "fuzz: input (base64): $(head -c 65536 "$input" | base64 -w0)"
    done
  fi
done
rm -rf "$work"
echo "fuzz: finished in $(($(date +%s) - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failing targets: ${failed[*]} (full logs in $findings)"
  exit 1
fi
