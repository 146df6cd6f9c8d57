"""Run RV64 machine code in the unicorn emulator and compare what two snippets do.

The model of the machine a snippet runs on:

* The code sits at ``CODE_BASE``; the run starts there and ends when the pc reaches the first
  byte after the code (the natural fall-through, also where a branch to a label substituted to
  the end lands). Every other code byte of the code region holds ``c.nop``.
* Every other address is readable and writable memory whose contents are a pseudo-random
  function of the trial and the address (pages are mapped on first touch), so ``lw a0, 8(a1)``
  works whatever ``a1`` holds, and loaded words have their sign bit set about half the time.
  Some registers point into a small data region (``DATA_BASE``) so that two of them can alias.
* x1..x31 and f0..f31 start random, F and D are on (``mstatus.FS`` = dirty), ``fcsr`` is 0.

A run ends in one of these outcomes (`FinalState.outcome`):

``end``         the pc reached the end of the code;
``left``        the pc left the code region for another address (``jr ra``, ``j 64``);
``trap``        a misaligned atomic, a store into the code, ...: the kind of trap is recorded;
``step_limit``  ``max_steps`` instructions ran without reaching the end (a long or endless loop);
``unsupported`` the emulator cannot judge it (vector, ``ecall``/``ebreak``, CSRs other than the
                floating-point ones, privileged instructions, an instruction unicorn rejects).
"""

from __future__ import annotations

import functools
import random
import struct
import threading
from dataclasses import dataclass, field

CODE_BASE = 0x0001_0000
CODE_SIZE = 0x0001_0000
DATA_BASE = 0x8000_0000
DATA_SIZE = 0x4000
PAGE_SIZE = 0x1000
MAX_STEPS = 10_000
MAX_PAGES = 256

_MASK64 = (1 << 64) - 1
_C_NOP = b"\x01\x00"
_MSTATUS_FS_DIRTY = 0x6000
_FP_CSRS = {0x001, 0x002, 0x003}  # fflags, frm, fcsr: modelled and part of the compared state

X_NAMES = (
    "zero ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 "
    "s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6"
).split()
F_NAMES = (
    "ft0 ft1 ft2 ft3 ft4 ft5 ft6 ft7 fs0 fs1 fa0 fa1 fa2 fa3 fa4 fa5 fa6 fa7 "
    "fs2 fs3 fs4 fs5 fs6 fs7 fs8 fs9 fs10 fs11 ft8 ft9 ft10 ft11"
).split()

# RISC-V privileged spec, mcause exception codes; unicorn reports them as the interrupt number.
_TRAP_NAMES = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint",
    4: "load address misaligned",
    5: "load access fault",
    6: "store/AMO address misaligned",
    7: "store/AMO access fault",
    8: "environment call from U-mode",
    9: "environment call from S-mode",
    11: "environment call from M-mode",
    12: "instruction page fault",
    13: "load page fault",
    15: "store/AMO page fault",
}
# Traps that mean "unicorn does not model this" rather than "the program faults".
_UNSUPPORTED_TRAPS = {2, 3, 8, 9, 11}


@dataclass(frozen=True)
class MachineState:
    """Where a run starts: x0..x31 and f0..f31 (raw 64-bit patterns) and the memory seed."""

    x: tuple[int, ...]
    f: tuple[int, ...]
    memory_seed: int

    def page(self, address: int) -> bytes:
        """The contents of the page holding ``address`` before the run."""
        return _page_bytes(self.memory_seed, address & ~(PAGE_SIZE - 1))


@dataclass(frozen=True)
class FinalState:
    """How a run ended and the machine state then.

    ``memory`` lists only the pages whose contents changed, as ``(page address, bytes)``.
    """

    outcome: str
    detail: str = ""
    x: tuple[int, ...] = ()
    f: tuple[int, ...] = ()
    fcsr: int = 0
    memory: tuple[tuple[int, bytes], ...] = field(default=(), repr=False)

    def observable(self) -> tuple:
        """What `exec_match` compares.

        After a trap only the kind of trap counts (the state at a fault depends on instruction
        order, which equivalent snippets may not share); after ``step_limit`` only that it was
        hit (two different loops cut off after the same number of steps are not comparable).
        """
        if self.outcome in ("trap", "unsupported"):
            return (self.outcome, self.detail)
        if self.outcome == "step_limit":
            return (self.outcome,)
        return (self.outcome, self.detail, self.x, self.f, self.fcsr, self.memory)


@dataclass(frozen=True)
class ExecComparison:
    """The verdict of `compare`: ``match`` is None when undecidable; ``reason`` says why."""

    match: bool | None
    reason: str
    trials: int = 0
    #: When undecidable, the cause in a few words, the same for every example it applies to
    #: (``vector instructions: no RVV emulator``), so that reports can count them.
    cause: str = ""


@functools.lru_cache(maxsize=2048)
def _page_bytes(seed: int, page: int) -> bytes:
    return random.Random(f"{seed}:{page:x}").randbytes(PAGE_SIZE)


def _random_int(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.30:
        offset = rng.randrange(DATA_SIZE)
        if rng.random() < 0.8:
            offset &= ~7
        return DATA_BASE + offset
    if kind < 0.50:
        return rng.randint(-16, 16) & _MASK64
    if kind < 0.75:
        return rng.getrandbits(64)
    if kind < 0.90:
        return rng.randint(-(1 << 31), (1 << 31) - 1) & _MASK64
    edges = (0, 1, -1, 1 << 63, (1 << 63) - 1, -(1 << 31), (1 << 31) - 1, 1 << 31, 1 << 32)
    return rng.choice(edges) & _MASK64


def _random_float(rng: random.Random) -> float:
    return rng.choice((-1.0, 1.0)) * rng.random() * 2.0 ** rng.randint(-20, 20)


def _random_fp_bits(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.40:
        # A single in the low half, NaN-boxed as the spec wants for .s operands.
        single = struct.unpack("<I", struct.pack("<f", _random_float(rng)))[0]
        return 0xFFFF_FFFF_0000_0000 | single
    if kind < 0.85:
        return struct.unpack("<Q", struct.pack("<d", _random_float(rng)))[0]
    specials = (0.0, -0.0, 1.0, float("inf"), float("-inf"), float("nan"), 5e-324)
    if rng.random() < 0.3:
        return rng.getrandbits(64)
    return struct.unpack("<Q", struct.pack("<d", rng.choice(specials)))[0]


def random_state(rng: random.Random) -> MachineState:
    """Draw a starting state: random registers (sp, gp, tp into the data region) and memory."""
    x = [0]
    for index in range(1, 32):
        if index == 2:
            x.append(DATA_BASE + DATA_SIZE // 2 + (rng.randrange(-64, 64) << 4))
        elif index in (3, 4):
            x.append(DATA_BASE + (rng.randrange(DATA_SIZE) & ~7))
        else:
            x.append(_random_int(rng))
    f = [_random_fp_bits(rng) for _ in range(32)]
    return MachineState(tuple(x), tuple(f), rng.getrandbits(64))


def _single(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _double(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _boxed(bits: int) -> int:
    return 0xFFFF_FFFF_0000_0000 | bits


# Edge values: where look-alike instructions part ways. Integers: signs, the 32-bit and 64-bit
# boundaries (addw/add, sraw/sra, lw/lwu, divw/div), small values (sltiu 1 vs 2, shift
# amounts 31/32/63/64), INT_MIN with -1 (div overflow), a pointer.
X_EDGES = tuple(v & _MASK64 for v in (
    0, 1, -1, 2, -2, 3, 7, 31, 32, 33, 63, 64, 0x7FF, 0x800, -2048, 0x7FFF_FFFF, 0x8000_0000,
    0xFFFF_FFFF, 1 << 32, (1 << 32) + 1, 0x1_8000_0000, -(1 << 31), -(1 << 31) - 1, -(1 << 32),
    1 << 63, (1 << 63) - 1, (1 << 63) + 1, 0x8000_0000_8000_0000, 0x0123_4567_89AB_CDEF,
    0xFEDC_BA98_7654_3210, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA, 0xFF, 0x80,
    0xFFFF_8000, DATA_BASE, DATA_BASE + 8,
))
_NAN_AND_FRIENDS = (
    # Raw single patterns: quiet and signalling NaNs of both signs, infinities, subnormals.
    0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0x7FA0_0000, 0x7F80_0000, 0xFF80_0000, 0x0000_0001,
    0x007F_FFFF, 0x8000_0001, 0x0080_0000, 0x7F7F_FFFF,
)
# Singles: ±0, ties (x.5) and near-ties for the rounding modes, and the values where
# float -> integer conversions saturate or differ signed/unsigned and 32/64-bit.
S_EDGES = tuple(_boxed(b) for b in (
    *(_single(v) for v in (
        0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1.7, -1.7, 0.49999997,
        2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0, 3e9, -3e9, 4294967040.0,
        4294967296.0, 1e10, 9.223372e18, -9.223372e18, 1.8446743e19, 1e20, -1e20, 16777216.0,
    )),
    *_NAN_AND_FRIENDS,
))
# Doubles: the same kinds, plus doubles that are ties or overflow when rounded to single.
D_EDGES = tuple(_double(v) for v in (
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1.7, -1.7, 0.49999999999999994,
    2147483647.5, 2147483648.0, -2147483648.5, -2147483649.0, 3e9, -3e9, 4294967295.5,
    4294967296.0, 1e10, 9.223372036854775e18, 9.223372036854776e18, -9.223372036854776e18,
    1.8446744073709552e19, 1e20, -1e20, 1.0000000596046448, 1.0000001788139343,
    3.4028235677973366e38, 1e-40, 1e300,
)) + (0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001,
      0x7FF4_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x1,
      0x000F_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001, 0x0010_0000_0000_0000)
# Every register the same value: what tells lt from le, flt from fle, feq from fle (flags).
_UNIFORM = (
    (0, _boxed(_single(1.5))), (1, _double(1.5)), ((1 << 64) - 1, _boxed(_single(-0.0))),
    (1 << 63, _double(-0.0)), ((1 << 32) + 1, _boxed(0x7FC0_0000)),
    (0x8000_0000, 0x7FF8_0000_0000_0000), (2, _boxed(0x7F80_0001)),
    (0xFFFF_FFFF, 0x7FF0_0000_0000_0001), (3, _boxed(0x7F80_0000)), (7, 0xFFF0_0000_0000_0000),
    (-(1 << 31) & _MASK64, _boxed(0x0000_0001)), (64, 0x1),
)
_POINTERS = {2: DATA_BASE + DATA_SIZE // 2, 3: DATA_BASE + 0x100, 4: DATA_BASE + 0x200}


def _edge_x(rng: random.Random, pick) -> list[int]:
    return [0] + [_POINTERS.get(index) or pick(index) for index in range(1, 32)]


def edge_states(seed: int = 0) -> tuple[tuple[str, MachineState], ...]:
    """Starting states built from edge values, each with a label saying what it holds.

    First every register equal (x and f, singles then doubles alternating), then states where
    register ``r`` of state ``k`` holds ``palette[(k * m_r + c_r) % len(palette)]`` (``m_r``
    prime to the length): over as many states as the palette has values, every register sees
    every value, and any two registers see many different pairs. The FP half alternates
    NaN-boxed singles and doubles, so single and double instructions both get their edge
    values. ``sp``, ``gp`` and ``tp`` always point into the data region.
    """
    return _edge_states(seed)


@functools.lru_cache(maxsize=8)
def _edge_states(seed: int) -> tuple[tuple[str, MachineState], ...]:
    rng = random.Random(f"edge:{seed}")
    states = []
    for xv, fv in _UNIFORM:
        kind = "single" if fv >> 32 == 0xFFFF_FFFF else "double"
        x = _edge_x(rng, lambda _i, xv=xv: xv & _MASK64)
        states.append((f"every register equal: x = 0x{xv & _MASK64:x}, f = {kind} 0x{fv:x}",
                       MachineState(tuple(x), (fv,) * 32, rng.getrandbits(64))))

    def spread(palette, count):
        size = len(palette)
        steps = [s for s in range(1, size) if _gcd(s, size) == 1]
        mult = [steps[(index * 7) % len(steps)] for index in range(32)]
        offset = [rng.randrange(size) for _ in range(32)]
        return [[palette[(k * mult[r] + offset[r]) % size] for r in range(32)]
                for k in range(count)]

    rounds = max(len(S_EDGES), len(D_EDGES))
    singles, doubles = spread(S_EDGES, rounds), spread(D_EDGES, rounds)
    xs = spread(X_EDGES, 2 * rounds)
    for k in range(2 * rounds):
        kind, f = ("singles", singles[k // 2]) if k % 2 == 0 else ("doubles", doubles[k // 2])
        x = _edge_x(rng, lambda index, k=k: xs[k][index])
        states.append((f"edge values, f as {kind}",
                       MachineState(tuple(x), tuple(f), rng.getrandbits(64))))
    return tuple(states)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@functools.lru_cache(maxsize=16)
def _trial_states(seed: int, trials: int, fp: bool = True) -> tuple[tuple[str, MachineState], ...]:
    """The edge-value states, then ``trials`` random ones (none at all for ``trials`` 0).

    Without ``fp`` (neither snippet touches the FP registers) only as many palette states as
    it takes for every x register to see every value of `X_EDGES`.
    """
    if trials < 1:
        return ()
    edges = _edge_states(seed)
    if not fp:
        edges = edges[: len(_UNIFORM) + len(X_EDGES)]
    rng = random.Random(seed)
    return edges + tuple(("random", random_state(rng)) for _ in range(trials))


_FP_OPCODES = {0x43, 0x47, 0x4B, 0x4F, 0x53}


def uses_fp(code: bytes) -> bool:
    """Whether ``code`` has an instruction that reads or writes FP registers or ``fcsr``."""
    offset = 0
    while offset + 2 <= len(code):
        half = int.from_bytes(code[offset : offset + 2], "little")
        if half & 0b11 != 0b11:
            # c.fld/c.fsd (quadrant 0), c.fldsp/c.fsdsp (quadrant 2): funct3 001 and 101.
            if half & 0b11 in (0, 2) and (half >> 13) in (0b001, 0b101):
                return True
            offset += 2
            continue
        if offset + 4 > len(code):
            break
        word = int.from_bytes(code[offset : offset + 4], "little")
        opcode, funct3 = word & 0x7F, (word >> 12) & 0b111
        if opcode in _FP_OPCODES or (opcode in (0x07, 0x27) and funct3 in (1, 2, 3, 4)):
            return True
        if opcode == 0x73 and funct3 not in (0, 4) and (word >> 20) in _FP_CSRS:
            return True
        offset += 4
    return False


def undecidable_reason(code: bytes) -> str | None:
    """Why the emulator cannot judge ``code`` from its bytes alone, or None.

    Decodes instruction lengths linearly (data mixed into code may be misread, harmlessly: the
    run then traps on it and is judged by that).
    """
    offset = 0
    while offset + 2 <= len(code):
        half = int.from_bytes(code[offset : offset + 2], "little")
        if half & 0b11 != 0b11:
            if half == 0x9002:
                return f"c.ebreak at offset {offset}"
            offset += 2
            continue
        if half & 0b11100 == 0b11100:
            return f"instruction longer than 32 bits at offset {offset}"
        if offset + 4 > len(code):
            break
        word = int.from_bytes(code[offset : offset + 4], "little")
        reason = _word_reason(word)
        if reason:
            return f"{reason} at offset {offset}"
        offset += 4
    return None


def _word_reason(word: int) -> str | None:
    opcode = word & 0x7F
    funct3 = (word >> 12) & 0b111
    if opcode == 0x57:
        return "vector instruction"
    if opcode in (0x07, 0x27) and funct3 in (0, 5, 6, 7):
        return "vector load/store"
    if opcode != 0x73:
        return None
    if funct3 == 0:
        if word == 0x0000_0073:
            return "ecall"
        if word == 0x0010_0073:
            return "ebreak"
        return "privileged instruction"
    if funct3 == 4:
        return "hypervisor instruction"
    csr = word >> 20
    if csr not in _FP_CSRS:
        return f"access to CSR 0x{csr:03x}"
    return None


class _Machine:
    """One unicorn instance per thread, reused across runs (a fresh one per run costs more)."""

    def __init__(self):
        from unicorn import (
            UC_ARCH_RISCV,
            UC_HOOK_INTR,
            UC_HOOK_MEM_PROT,
            UC_HOOK_MEM_UNMAPPED,
            UC_MODE_RISCV64,
            UC_PROT_EXEC,
            UC_PROT_READ,
            Uc,
        )

        self.uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV64)
        self.uc.mem_map(CODE_BASE, CODE_SIZE, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(CODE_BASE, _C_NOP * (CODE_SIZE // 2))
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        self.uc.hook_add(UC_HOOK_MEM_PROT, self._on_protected)
        from unicorn import riscv_const as rc

        self.x_ids = [rc.UC_RISCV_REG_X0 + index for index in range(1, 32)]
        self.f_ids = [rc.UC_RISCV_REG_F0 + index for index in range(32)]
        self.state: MachineState | None = None
        self.pages: list[int] = []
        self.stop: tuple[str, str] | None = None
        self.fault = ""

    def _on_interrupt(self, uc, cause, _data):
        name = _TRAP_NAMES.get(cause, f"exception {cause}")
        self.stop = ("unsupported" if cause in _UNSUPPORTED_TRAPS else "trap", name)
        uc.emu_stop()

    def _on_left_code(self, uc, address, _size, _data):
        self.stop = ("left", f"0x{address:x}")
        uc.emu_stop()

    def _on_unmapped(self, uc, access, address, size, _value, _data):
        from unicorn import UC_MEM_FETCH_UNMAPPED, UC_PROT_READ, UC_PROT_WRITE, UcError

        if access == UC_MEM_FETCH_UNMAPPED:
            return False
        if len(self.pages) >= MAX_PAGES:
            self.fault = f"more than {MAX_PAGES} pages touched (at 0x{address:x})"
            return False
        page = address & ~(PAGE_SIZE - 1) & _MASK64
        try:
            uc.mem_map(page, PAGE_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        except UcError as error:
            self.fault = f"cannot map 0x{address:x}: {error}"
            return False
        self.pages.append(page)
        uc.mem_write(page, self.state.page(page))
        return True

    def _on_protected(self, uc, access, address, size, _value, _data):
        from unicorn import UC_MEM_WRITE_PROT

        if access == UC_MEM_WRITE_PROT:
            self.fault = f"store into the code at 0x{address:x}"
        return False

    def run(self, code: bytes, state: MachineState, max_steps: int) -> FinalState:
        from unicorn import UC_HOOK_CODE, UcError
        from unicorn import riscv_const as rc

        uc = self.uc
        end = CODE_BASE + len(code)
        self.state, self.pages, self.stop, self.fault = state, [], None, ""
        uc.mem_write(CODE_BASE, code)
        uc.ctl_remove_cache(CODE_BASE, end + 4)
        hooks = [
            uc.hook_add(UC_HOOK_CODE, self._on_left_code, begin=0, end=CODE_BASE - 1),
            uc.hook_add(UC_HOOK_CODE, self._on_left_code, begin=end + 1, end=_MASK64),
        ]
        uc.reg_write_batch(
            list(zip(self.x_ids, state.x[1:]))
            + list(zip(self.f_ids, state.f))
            + [(rc.UC_RISCV_REG_MSTATUS, _MSTATUS_FS_DIRTY), (rc.UC_RISCV_REG_FCSR, 0)]
        )
        error = None
        try:
            # No timeout: unicorn runs each timed call on a watchdog thread (about 1 ms per
            # run); count= already bounds the run.
            uc.emu_start(CODE_BASE, end, count=max_steps)
        except UcError as caught:
            error = caught
        finally:
            for hook in hooks:
                uc.hook_del(hook)
            uc.mem_write(CODE_BASE, _C_NOP * (len(code) // 2 + 1))
        pc = uc.reg_read(rc.UC_RISCV_REG_PC)
        outcome, detail = self._outcome(error, pc, end, max_steps)
        values = uc.reg_read_batch(self.x_ids + self.f_ids + [rc.UC_RISCV_REG_FCSR])
        x, f, fcsr = (0,) + tuple(values[:31]), tuple(values[31:63]), values[63] & 0xFF
        changed = []
        for page in sorted(self.pages):
            now = bytes(uc.mem_read(page, PAGE_SIZE))
            if now != state.page(page):
                changed.append((page, now))
            uc.mem_unmap(page, PAGE_SIZE)
        self.pages = []
        return FinalState(outcome, detail, x, f, fcsr, tuple(changed))

    def _outcome(self, error, pc: int, end: int, max_steps: int) -> tuple[str, str]:
        from unicorn import (
            UC_ERR_EXCEPTION,
            UC_ERR_FETCH_PROT,
            UC_ERR_FETCH_UNMAPPED,
            UC_ERR_INSN_INVALID,
        )

        if self.stop is not None:
            return self.stop
        if error is None:
            return ("end", "") if pc == end else ("step_limit", f"{max_steps} steps")
        if error.errno in (UC_ERR_FETCH_PROT, UC_ERR_FETCH_UNMAPPED):
            # Jumping into data pages: unicorn faults before the left-code hook can fire.
            return "left", f"0x{pc:x}"
        if error.errno in (UC_ERR_INSN_INVALID, UC_ERR_EXCEPTION):
            return "unsupported", f"unicorn: {error}"
        return "trap", self.fault or str(error)


_PER_THREAD = threading.local()


def _machine() -> _Machine:
    machine = getattr(_PER_THREAD, "machine", None)
    if machine is None:
        machine = _PER_THREAD.machine = _Machine()
    return machine


def run_snippet(code: bytes, state: MachineState, *, max_steps: int = MAX_STEPS) -> FinalState:
    """Run RV64 machine ``code`` from ``state`` and return how it ended.

    Code the emulator cannot judge (see `undecidable_reason`) is not run: the outcome is
    ``unsupported`` with the reason as detail.
    """
    if len(code) % 2 or len(code) > CODE_SIZE - 4:
        return FinalState("unsupported", f"code of {len(code)} bytes (even, < 64 KiB expected)")
    reason = undecidable_reason(code)
    if reason:
        return FinalState("unsupported", reason)
    return _machine().run(code, state, max_steps)


CAUSE_VECTOR = "vector instructions: no RVV emulator"
CAUSE_RELOCATIONS = "unresolved symbols (relocations)"


def _cause(reason: str) -> str:
    """The short, countable cause of an undecidable verdict, from its detailed reason."""
    if "vector" in reason:
        return CAUSE_VECTOR
    if reason.startswith(("ecall", "ebreak", "c.ebreak")):
        return "ecall/ebreak"
    if "privileged" in reason or "hypervisor" in reason:
        return "privileged instruction"
    if "CSR" in reason:
        return "CSR other than fflags/frm/fcsr"
    if "unicorn" in reason or "illegal instruction" in reason:
        return "instruction unicorn does not implement"
    return reason.split(" at offset")[0]


def _difference(ref: FinalState, pred: FinalState) -> str:
    if ref.outcome != pred.outcome or ref.outcome in ("trap", "step_limit"):
        return f"reference {_describe(ref)}, prediction {_describe(pred)}"
    if ref.detail != pred.detail:
        return f"reference left the code to {ref.detail}, prediction to {pred.detail}"
    for names, a, b in ((X_NAMES, ref.x, pred.x), (F_NAMES, ref.f, pred.f)):
        for name, left, right in zip(names, a, b):
            if left != right:
                return f"{name} is 0x{left:x} for the reference, 0x{right:x} for the prediction"
    if ref.fcsr != pred.fcsr:
        return f"fcsr is 0x{ref.fcsr:x} for the reference, 0x{pred.fcsr:x} for the prediction"
    ref_pages, pred_pages = dict(ref.memory), dict(pred.memory)
    for page in sorted(set(ref_pages) | set(pred_pages)):
        if ref_pages.get(page) != pred_pages.get(page):
            return f"memory differs in the page at 0x{page:x}"
    return "states differ"


def _describe(state: FinalState) -> str:
    return f"{state.outcome} ({state.detail})" if state.detail else state.outcome


def compare(
    ref: bytes,
    pred: bytes,
    *,
    trials: int = 16,
    seed: int = 0,
    ref_relocs: tuple = (),
    pred_relocs: tuple = (),
    max_steps: int = MAX_STEPS,
) -> ExecComparison:
    """Run both snippets from the same ``trials`` random states and say whether they agree.

    Stops at the first trial that disagrees. Undecidable (``match`` None) when either snippet
    has relocations (an unresolved symbol: the emulator has nothing to jump to or load), does
    something the emulator cannot judge, or ``trials`` is 0 (execution not checked).
    """
    if trials < 1:
        return ExecComparison(None, "undecidable: execution not checked (trials=0)", 0,
                              "not checked (trials=0)")
    for side, relocs in (("reference", ref_relocs), ("prediction", pred_relocs)):
        if relocs:
            return ExecComparison(None, f"undecidable: the {side} has unresolved relocations",
                                  0, CAUSE_RELOCATIONS)
    for side, code in (("reference", ref), ("prediction", pred)):
        reason = undecidable_reason(code)
        if reason:
            return ExecComparison(None, f"undecidable: the {side} has {reason}", 0,
                                  _cause(reason))
    states = _trial_states(seed, trials, uses_fp(ref) or uses_fp(pred))
    total = len(states)
    for trial, (label, state) in enumerate(states):
        ref_end = run_snippet(ref, state, max_steps=max_steps)
        pred_end = run_snippet(pred, state, max_steps=max_steps)
        for side, end in (("reference", ref_end), ("prediction", pred_end)):
            if end.outcome == "unsupported":
                return ExecComparison(None, f"undecidable: the {side} hit {end.detail}", trial,
                                      _cause(end.detail))
        if ref_end.observable() != pred_end.observable():
            why = _difference(ref_end, pred_end)
            return ExecComparison(False, f"trial {trial + 1}/{total} ({label}): {why}",
                                  trial + 1)
    return ExecComparison(True, f"same final state in {total} trials ({total - trials} "
                          f"edge-value, {trials} random)", total)


def exec_match(
    ref: bytes,
    pred: bytes,
    *,
    trials: int = 16,
    seed: int = 0,
    ref_relocs: tuple = (),
    pred_relocs: tuple = (),
) -> bool | None:
    """True when both snippets end in the same state from ``trials`` random starting states.

    None when the emulator cannot judge them (see `compare`). A randomized test, not a proof.
    """
    return compare(
        ref, pred, trials=trials, seed=seed, ref_relocs=ref_relocs, pred_relocs=pred_relocs
    ).match
