#!/usr/bin/env bash
# Fails when nbdev-export or nbdev-clean would change a file: nnrecipe/ out of sync with nbs/, or a notebook
# (nbs/ or recipe_nb/) not cleaned. Works on a copy, so it never touches the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r pyproject.toml README.md nbs nnrecipe recipe_nb "$tmp"/
( cd "$tmp" && nbdev-export && nbdev-clean && nbdev-clean --fname recipe_nb ) >/dev/null
ex=(-x __pycache__ -x .ipynb_checkpoints -x .last_checked)
# a file changed, or one that export/clean would add; files only in the working tree (caches) are not our business
changes=$(diff -r -q "${ex[@]}" pyproject.toml "$tmp"/pyproject.toml; for d in nbs nnrecipe recipe_nb; do
            diff -r -q "${ex[@]}" "$d" "$tmp/$d" | grep -v "^Only in $d" || true; done)
if [ -z "$changes" ]; then echo "nbdev in sync: nnrecipe/ matches nbs/, notebooks are clean"; exit 0; fi
{ echo "Out of sync: run 'nbdev-export && nbdev-clean && nbdev-clean --fname recipe_nb' and commit the result."
  echo "$changes"
  for d in nbs nnrecipe recipe_nb; do diff -r -u "${ex[@]}" "$d" "$tmp/$d" | grep -v "^Only in $d" | head -60 || true; done
} >&2
exit 1
