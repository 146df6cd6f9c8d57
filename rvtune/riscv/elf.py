"""A minimal reader for the RISC-V ELF relocatable objects the assemblers write.

Only what the validator needs: section contents by name, and each RELA section's entries with
their symbol names and psABI relocation type names. ELF32 and ELF64, little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# RISC-V psABI relocation numbers.
RELOC_TYPES = {
    0: "NONE", 1: "32", 2: "64", 3: "RELATIVE", 4: "COPY", 5: "JUMP_SLOT", 6: "TLS_DTPMOD32",
    7: "TLS_DTPMOD64", 8: "TLS_DTPREL32", 9: "TLS_DTPREL64", 10: "TLS_TPREL32",
    11: "TLS_TPREL64", 16: "BRANCH", 17: "JAL", 18: "CALL", 19: "CALL_PLT", 20: "GOT_HI20",
    21: "TLS_GOT_HI20", 22: "TLS_GD_HI20", 23: "PCREL_HI20", 24: "PCREL_LO12_I",
    25: "PCREL_LO12_S", 26: "HI20", 27: "LO12_I", 28: "LO12_S", 29: "TPREL_HI20",
    30: "TPREL_LO12_I", 31: "TPREL_LO12_S", 32: "TPREL_ADD", 33: "ADD8", 34: "ADD16",
    35: "ADD32", 36: "ADD64", 37: "SUB8", 38: "SUB16", 39: "SUB32", 40: "SUB64", 43: "ALIGN",
    44: "RVC_BRANCH", 45: "RVC_JUMP", 46: "RVC_LUI", 51: "RELAX", 52: "SUB6", 53: "SET6",
    54: "SET8", 55: "SET16", 56: "SET32", 57: "32_PCREL", 58: "IRELATIVE", 59: "PLT32",
    60: "SET_ULEB128", 61: "SUB_ULEB128",
}
SHT_SYMTAB, SHT_RELA, STT_SECTION = 2, 4, 3


@dataclass(frozen=True)
class Section:
    """One section: name, type, contents, and the ``sh_info``/``sh_link`` indices."""

    name: str
    type: int
    data: bytes
    link: int
    info: int


class ElfObject:
    """Parsed ELF relocatable object: ``sections`` by index, ``symbols`` as (name, shndx)."""

    def __init__(self, blob: bytes):
        if blob[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        self.is64 = blob[4] == 2
        if self.is64:
            shoff, = struct.unpack_from("<Q", blob, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3A)
        else:
            shoff, = struct.unpack_from("<I", blob, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x2E)
        raw = []
        for i in range(shnum):
            base = shoff + i * shentsize
            if self.is64:
                name, typ, _, _, off, size, link, info = struct.unpack_from("<IIQQQQII", blob,
                                                                            base)
            else:
                name, typ, _, _, off, size, link, info = struct.unpack_from("<IIIIIIII", blob,
                                                                            base)
            data = blob[off:off + size] if typ != 8 else b""  # SHT_NOBITS has no bytes
            raw.append((name, typ, data, link, info))
        names = raw[shstrndx][2] if shnum else b""
        self.sections = [Section(_cstr(names, n), t, d, link, info) for n, t, d, link, info in raw]
        self.symbols: list[tuple[str, int]] = []
        for sec in self.sections:
            if sec.type == SHT_SYMTAB:
                strtab = self.sections[sec.link].data
                self.symbols = list(self._symbols(sec.data, strtab))
                break

    def _symbols(self, data: bytes, strtab: bytes):
        size = 24 if self.is64 else 16
        for off in range(0, len(data), size):
            if self.is64:
                name, info, _, shndx = struct.unpack_from("<IBBH", data, off)
            else:
                name, _, _, info, _, shndx = struct.unpack_from("<IIIBBH", data, off)
            if info & 0xF == STT_SECTION and shndx < len(self.sections):
                yield self.sections[shndx].name, shndx
            else:
                yield _cstr(strtab, name), shndx

    def relocations(self, index: int) -> list[tuple[int, str, str, int]]:
        """RELA entries applying to section ``index`` as (offset, type, symbol, addend)."""
        out = []
        for sec in self.sections:
            if sec.type != SHT_RELA or sec.info != index:
                continue
            fmt, size = ("<QQq", 24) if self.is64 else ("<IIi", 12)
            for off in range(0, len(sec.data), size):
                r_offset, r_info, addend = struct.unpack_from(fmt, sec.data, off)
                sym, typ = (r_info >> 32, r_info & 0xFFFFFFFF) if self.is64 else (r_info >> 8,
                                                                                 r_info & 0xFF)
                name = self.symbols[sym][0] if sym < len(self.symbols) else ""
                out.append((r_offset, "R_RISCV_" + RELOC_TYPES.get(typ, str(typ)), name, addend))
        return sorted(out, key=lambda r: r[0])


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else None].decode(errors="replace")
