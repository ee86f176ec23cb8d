#!/usr/bin/env bash
# Build the Lambda layer of the smart-dispatch model (issue 5) and report its size.
#
#   layers/build_model_layer.sh            # -> layers/build/dispatch-model-layer.zip (full)
#   layers/build_model_layer.sh predict    # -> layers/build/dispatch-predict-layer.zip
#
# "full" (the default) is what issue 5 asks for: jieba, scikit-learn and the model, for the
# retraining function. "predict" leaves out scikit-learn and scipy (prediction needs numpy and
# jieba only): about a third of the size, for the API functions that recommend departments.
#
# Layout (a layer unpacks under /opt):
#   python/                 numpy, scikit-learn (+ scipy, joblib, threadpoolctl), jieba
#   dispatch/model/         the default model artifact (DISPATCH_MODEL_DIR default)
#   dispatch/data/          gazetteer, user dictionary and taxonomy (DISPATCH_DATA_DIR fallback)
#
# Prediction needs only numpy + jieba; scikit-learn is there for the retraining function.
# Wheels are fetched for Lambda's platform (manylinux2014 x86_64, CPython 3.11 unless PYVER is set)
# at exactly the versions installed in .venv (requirements-model.txt), so the layer is what the
# tests ran; the build fails when those versions have no wheels for the platform (no fallback).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PYVER="${PYVER:-3.11}"
PLATFORM="${PLATFORM:-manylinux2014_x86_64}"
KIND="${1:-full}"
case "$KIND" in
    full) NAME=dispatch-model-layer ;;
    predict) NAME=dispatch-predict-layer ;;
    *) echo "usage: $0 [full|predict]" >&2; exit 2 ;;
esac
BUILD="$ROOT/layers/build"
STAGE="$BUILD/$NAME"
ZIP="$BUILD/$NAME.zip"
LIMIT=$((250 * 1024 * 1024))   # Lambda: function + layers, unzipped

version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
NUMPY_V="${NUMPY_VERSION:-$(version numpy)}"
SKLEARN_V="${SKLEARN_VERSION:-$(version scikit-learn)}"
SCIPY_V="${SCIPY_VERSION:-$(version scipy)}"
JIEBA_V="${JIEBA_VERSION:-$(version jieba)}"

rm -rf "$STAGE" "$ZIP"
mkdir -p "$STAGE/python" "$STAGE/dispatch/data/dispatch" "$STAGE/dispatch/data/taxonomy"

echo "$NAME: numpy $NUMPY_V, scikit-learn $SKLEARN_V ($KIND), jieba $JIEBA_V for CPython $PYVER on $PLATFORM"
binary_install() {
    "$PY" -m pip install --quiet --disable-pip-version-check --no-compile \
        --target "$STAGE/python" --platform "$PLATFORM" --implementation cp \
        --python-version "$PYVER" --only-binary=:all: "$@"
}
if [ "$KIND" = predict ]; then
    PINNED=("numpy==$NUMPY_V"); UNPINNED=(numpy)
else
    PINNED=("numpy==$NUMPY_V" "scipy==$SCIPY_V" "scikit-learn==$SKLEARN_V")
fi
# Newer numpy/scikit-learn publish only manylinux_2_28 wheels, which need glibc 2.28: Lambda's
# python3.11 runtime (Amazon Linux 2, glibc 2.26) cannot load them. No silent substitute: the
# layer must be what the tests ran, so requirements-model.txt pins releases that have the wheels.
if ! binary_install "${PINNED[@]}"; then
    echo "error: ${PINNED[*]} have no $PLATFORM wheels for CPython $PYVER; pin releases that do in" \
         "requirements-model.txt (or set PYVER=3.12 PLATFORM=manylinux_2_28_x86_64 for an AL2023 runtime)" >&2
    exit 1
fi
# jieba is pure Python and published as an sdist only: install it without platform pinning.
"$PY" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
    --target "$STAGE/python" "jieba==$JIEBA_V"

echo "layer packages:" $(cd "$STAGE/python" && ls -d *.dist-info | sed 's/.dist-info//' | tr '\n' ' ')

# Trim what never runs in Lambda: test suites, caches, Cython sources.
# (numpy's own tests stay: numpy.testing, which scikit-learn imports, reads a helper from them.)
find "$STAGE/python" -depth -type d -name __pycache__ -exec rm -rf {} +
find "$STAGE/python" -depth -type d -name tests -not -path "*/numpy/*" -exec rm -rf {} +
find "$STAGE/python" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.cpp' \) -delete

# jieba's paddle mode (lac_small) needs paddlepaddle, which is not here; neither prediction nor
# training uses part-of-speech tagging or keyword extraction (chalicelib/dispatch/segment.py cuts
# words only): 17 MiB that the retraining function's 250 MiB cannot spare.
rm -rf "$STAGE/python/jieba/lac_small" "$STAGE/python/jieba/posseg" "$STAGE/python/jieba/analyse"
# No prebuilt jieba cache (9 MiB): models carry their own trimmed dictionary, and a segmenter on
# jieba's default dictionary (training with dictionary_size 0) builds the cache in /tmp once per
# cold start (a second or two, weekly), which the retraining function's 250 MiB cannot spare.

# The model and the data files the runtime reads.
cp -R "$ROOT/data/dispatch/model" "$STAGE/dispatch/model"
cp "$ROOT/data/dispatch/gazetteer.csv" "$ROOT/data/dispatch/userdict.txt" "$STAGE/dispatch/data/dispatch/"
cp "$ROOT/data/taxonomy/departments.csv" "$ROOT/data/taxonomy/districts.csv" "$STAGE/dispatch/data/taxonomy/"
if [ "$KIND" = full ]; then
    # the weekly retraining (dispatch_retraining) trains on the bundled corpus + corrections and
    # compares candidates on the held-out split: both travel with the full layer only
    cp "$ROOT/data/dispatch/corpus.csv" "$ROOT/data/dispatch/heldout.csv" "$STAGE/dispatch/data/dispatch/"
fi

# Smoke test: the staged layer alone predicts (numpy + jieba only).
PYTHONPATH="$STAGE/python:$ROOT" DISPATCH_MODEL_DIR="$STAGE/dispatch/model" "$PY" -c "
from chalicelib.dispatch.predictor import get_default_predictor
r = get_default_predictor().recommend('小区连续两天停水，物业不管')
assert r.department == 'WATER', r
print('layer smoke test:', r.department, round(r.probability, 3), r.model_version)
"
if [ "$KIND" = full ]; then
    PYTHONPATH="$STAGE/python" "$PY" -c "import sklearn.svm, sklearn.feature_extraction.text, sklearn.model_selection; print('layer scikit-learn', sklearn.__version__)"
    # jieba on its default dictionary, with no prebuilt cache: it builds one in the temp folder
    PYTHONPATH="$STAGE/python:$ROOT" "$PY" -c "
from chalicelib.dispatch.segment import Segmenter
words = Segmenter([]).cut('小区连续两天停水')
assert '停水' in words, words
print('layer default-dictionary segmenter:', '/'.join(words))
"
fi

# Zip with fixed timestamps and sorted members (Python, so no zip/bc tools are needed).
"$PY" - "$STAGE" "$ZIP" "$LIMIT" <<'PYEOF'
import os, sys, zipfile
stage, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
files, unzipped = [], 0
for root, _, names in os.walk(stage):
    for name in names:
        files.append(os.path.join(root, name))
files.sort()
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
    for path in files:
        info = zipfile.ZipInfo(os.path.relpath(path, stage), date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
        with open(path, "rb") as fh:
            data = fh.read()
        unzipped += len(data)
        zf.writestr(info, data)
mb = 1024 * 1024
print(f"layer: {out}\n  unzipped {unzipped / mb:.1f} MB (Lambda limit 250 MB for function + layers), "
      f"zipped {os.path.getsize(out) / mb:.1f} MB, {len(files)} files")
if unzipped >= limit:
    sys.exit("layer is over Lambda's unzipped limit")
PYEOF
