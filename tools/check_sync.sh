#!/usr/bin/env bash
# Fails when nbdev-export or nbdev-clean would change a file: nnrecipe/ out of sync with nbs/, or a notebook
# (nbs/ or recipe_nb/) not cleaned. Works on a copy, so it never touches the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r pyproject.toml README.md nbs nnrecipe recipe_nb "$tmp"/
rm -rf "$tmp"/nnrecipe/__pycache__
( cd "$tmp" && nbdev-export && nbdev-clean && nbdev-clean --fname recipe_nb ) >/dev/null
if ! diff -r -q -x __pycache__ -x '.ipynb_checkpoints' -x .last_checked . "$tmp" | grep -v '^Only in \.:' ; then
  echo "nbdev in sync: nnrecipe/ matches nbs/, notebooks are clean"; exit 0
fi
echo "Out of sync: run 'nbdev-export && nbdev-clean && nbdev-clean --fname recipe_nb' and commit the result." >&2
diff -r -u -x __pycache__ -x '.ipynb_checkpoints' -x .last_checked pyproject.toml "$tmp"/pyproject.toml >&2 || true
for d in nbs nnrecipe recipe_nb; do diff -r -u -x __pycache__ -x '.ipynb_checkpoints' "$d" "$tmp/$d" | head -40 >&2 || true; done
exit 1
