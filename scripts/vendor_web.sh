#!/usr/bin/env bash
# Vendor the studio page's third-party JavaScript into src/cymbalism/web/static/vendor/.
# Run by hand when upgrading; the page never needs npm to run (everything is served
# locally from the package).
#
#   bash scripts/vendor_web.sh
#
# signalsmith-stretch (MIT, Geraint Luff / Signalsmith Audio): the Web Audio release of
# Signalsmith Stretch, used as an AudioWorklet. Its npm package carries no LICENSE file,
# so the license text is taken from the library's own source as the python-stretch
# source distribution on PyPI ships it (include/stretch/LICENSE.txt).
set -euo pipefail
STRETCH_VERSION=1.3.2
PYTHON_STRETCH_VERSION=0.3.1
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/src/cymbalism/web/static/vendor/signalsmith-stretch"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "signalsmith-stretch@$STRETCH_VERSION" >/dev/null && tar xzf signalsmith-stretch-*.tgz)
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" "python-stretch==$PYTHON_STRETCH_VERSION"
tar xzf "$work/python-stretch-$PYTHON_STRETCH_VERSION.tar.gz" -C "$work"
mkdir -p "$dest"
cp "$work/package/SignalsmithStretch.mjs" "$work/package/package.json" "$work/package/README.md" "$dest/"
cp "$work/python-stretch-$PYTHON_STRETCH_VERSION/include/stretch/LICENSE.txt" "$dest/LICENSE.txt"
cp "$work/python-stretch-$PYTHON_STRETCH_VERSION/include/stretch/dsp/LICENSE.txt" "$dest/LICENSE-dsp.txt"
echo "vendored signalsmith-stretch $STRETCH_VERSION into $dest"
