#!/usr/bin/env bash
# Bundle Debian's GNU as for RISC-V (binutils-riscv64-linux-gnu) with the libraries it needs,
# about 1 MB, for a GPU machine that has no assembler (gpu_quality.sh CHECK=K scores answers
# there):  bash benchmarks/pack_gnu_as.sh .gpu/b/as.tgz
# There:   tar xzf as.tgz -C /tmp/gpu && export PATH=/tmp/gpu/as/bin:$PATH
set -euo pipefail
out=${1:?usage: pack_gnu_as.sh OUT.tgz}
real=$(command -v riscv64-linux-gnu-as) || { echo "apt-get install binutils-riscv64-linux-gnu" >&2; exit 1; }
stage=$(mktemp -d)
mkdir -p "$stage/as/bin" "$stage/as/lib"
cp "$real" "$stage/as/bin/riscv64-linux-gnu-as.real"
# Its own libraries (libbfd, libopcodes, libsframe, libzstd); libc and libz come from the host.
ldd "$real" | awk '/=>/ {print $3}' | grep -E 'libbfd|libopcodes|libsframe|libzstd' |
  while read -r lib; do cp "$(readlink -f "$lib")" "$stage/as/lib/$(basename "$lib")"; done
cat > "$stage/as/bin/riscv64-linux-gnu-as" <<'WRAP'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH="$here/../lib" exec "$here/riscv64-linux-gnu-as.real" "$@"
WRAP
chmod +x "$stage/as/bin/"*
tar czf "$out" -C "$stage" as
rm -rf "$stage"
echo "$out: $(du -h "$out" | cut -f1)"
