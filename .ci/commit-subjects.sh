#!/usr/bin/env bash
# Fails when a commit made since the rule began has a subject over 72 characters
# (the explanation belongs in the body). Commits before BASE predate the rule and stay
# as they are: rewriting published history would break every clone.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=3d600268c4d22f90715df39b39ece9fbd8a73c41
MAX=72
if git cat-file -e "$BASE^{commit}" 2>/dev/null; then range="$BASE..HEAD"; else range="HEAD"; fi
bad=$(git log --format='%h %s' "$range" | awk -v max="$MAX" '{ s = substr($0, index($0, " ") + 1); if (length(s) > max) print length(s) " " $0 }')
if [ -n "$bad" ]; then
  echo "commit subjects over $MAX characters (put the why in the body):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "commit subjects: all within $MAX characters ($range)"
