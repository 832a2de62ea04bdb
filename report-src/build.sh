#!/usr/bin/env bash
# Rebuild storygraph/report/bundle.min.js (the report's front-end) from report-src/src/*.js and
# the npm packages pinned in package-lock.json. Needs Node >= 18 and npm; run it after changing
# src/ or a package version, then commit the bundle: `pip install storygraph` needs no Node.
set -euo pipefail
cd "$(dirname "$0")"
out=../storygraph/report

npm ci --no-audit --no-fund --loglevel=error

# Pinned versions, read from the installed packages, name the bundle's contents in its banner.
versions=$(node -e '
  const names = ["sigma", "graphology", "graphology-layout-forceatlas2"];
  console.log(names.map((n) => `${n} ${require(`./node_modules/${n}/package.json`).version}`).join(", "));
')

./node_modules/.bin/esbuild src/main.js \
  --bundle --minify --format=iife --target=es2020 --platform=browser \
  --legal-comments=none --charset=utf8 \
  --banner:js="/* storygraph report bundle: report-src/src with ${versions} (all MIT, see THIRD_PARTY_LICENSES.txt) */" \
  --outfile="$out/bundle.min.js"

# The licences of everything bundled travel with it.
{
  echo "Third-party code in bundle.min.js (built by report-src/build.sh)."
  for pkg in sigma graphology graphology-layout-forceatlas2 graphology-utils events; do
    dir=node_modules/$pkg
    echo
    echo "==== $pkg $(node -p "require('./$dir/package.json').version") ===="
    cat "$dir"/LICENSE* 2>/dev/null || node -p "'License: ' + require('./$dir/package.json').license"
  done
} > "$out/THIRD_PARTY_LICENSES.txt"

if grep -qiE '</script|<!--' "$out/bundle.min.js"; then
  echo "error: the bundle holds '</script' or '<!--' and cannot be inlined in the page" >&2
  exit 1
fi
ls -l "$out/bundle.min.js"
