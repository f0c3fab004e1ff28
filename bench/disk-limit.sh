#!/usr/bin/env bash
# The disk's physical limit for issue 22 (bench/README.md, "Big files"): what the disk
# under $TMPDIR (the benchmarks' data dirs) takes and gives, with dd only.
#   bash bench/disk-limit.sh [MIB]   (MIB per file, default 2048)
# Rows: one writer buffered then fdatasync; one writer O_DIRECT; one writer with an
# fdatasync after every 1 MiB (O_DSYNC, the blob store's pattern at one chunk a Ready);
# three writers at once, buffered + fdatasync (three nodes share the disk: the total);
# three writers at once with O_DIRECT and a sync per 1 MiB (O_DSYNC: the blob store's
# pattern since whole chunks are written direct, src/storage/file-blob-io.ts);
# one reader O_DIRECT (downloads read from the page cache or from this). Each file is
# removed after its row. Take the benchmark lock first (mkdir /work/wt/bench.lock).
set -eu
mib=${1:-2048}
dir=${TMPDIR:-/tmp}/dfs-disk-limit.$$
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
rate() { # bytes seconds -> MB/s
  awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s (%.2f s)", b / 1e6 / s, s }'
}
timed() { # label bytes cmd...
  local label=$1 bytes=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  echo "| $label | $(rate "$bytes" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')") |"
}
bytes=$((mib * 1024 * 1024))
echo "# disk limit $(date -u +%FT%TZ), $mib MiB per file, $(df -h "$dir" | tail -1 | awk '{print $1}') under $dir"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| pattern | rate |"
echo "|---|---|"
q() { dd status=none "$@"; }
timed "1 writer, buffered then fdatasync" $bytes q if=/dev/zero of="$dir/a" bs=1M count="$mib" conv=fdatasync
rm -f "$dir/a"
timed "1 writer, O_DIRECT then fdatasync" $bytes q if=/dev/zero of="$dir/a" bs=1M count="$mib" oflag=direct conv=fdatasync
rm -f "$dir/a"
timed "1 writer, O_DSYNC (a sync per 1 MiB)" $bytes q if=/dev/zero of="$dir/a" bs=1M count="$mib" oflag=dsync
rm -f "$dir/a"
three() {
  for f in a b c; do
    dd status=none if=/dev/zero of="$dir/$f" bs=1M count="$mib" conv=fdatasync &
  done
  wait
}
timed "3 writers at once, buffered + fdatasync (total)" $((3 * bytes)) three
rm -f "$dir/b" "$dir/c"
three_direct() {
  for f in b c d; do
    dd status=none if=/dev/zero of="$dir/$f" bs=1M count="$mib" oflag=direct,dsync &
  done
  wait
}
timed "3 writers at once, O_DIRECT + O_DSYNC per 1 MiB (total)" $((3 * bytes)) three_direct
rm -f "$dir/b" "$dir/c" "$dir/d"
timed "1 reader, O_DIRECT" $bytes q if="$dir/a" of=/dev/null bs=1M iflag=direct
