"""Multi-instruction snippets of the built-in dataset: the programs, and how people ask for them.

Each kind is a short program (``asm``, a ``str.format`` string over slots its ``slots``
function draws) and several hand-written descriptions of it, by style (``manual``, ``terse``,
``question``, ``task``). A description need not name every register: a scratch register it
leaves unnamed (``{tmp}``, ``{tmp2}``) is the first free of ``t0``..``t6``, and a label it leaves
unnamed is the kind's own (``loop``, ``skip``, ...), so the answer stays one program. ``[[a|b]]``
picks a wording without changing the template's identity (its ``group``).

Many templates per kind matter: the held-out split keeps whole templates out of training, so a
kind with one or two templates teaches one phrasing, not the program.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from rvtune.riscv.generate import _ABI_X as _X
from rvtune.riscv.generate import _LABELS, _alt

_F = [f"fa{i}" for i in range(8)] + [f"fs{i}" for i in range(12)] + [f"ft{i}" for i in range(3, 12)]
_SCRATCH = [f"t{i}" for i in range(7)]
_FUNCS = ["helper", "compute", "process", "update", "handler", "memcpy", "printf", "strlen"]
_SYMS = ["counter", "total", "flags", "limit", "result", "buffer_len", "speed", "ticks"]
# op -> (do, what, expr) over {a} and {b}
_OPS = {
    "add": ("add {a} and {b}", "the sum of {a} and {b}", "{a} + {b}"),
    "sub": ("subtract {b} from {a}", "{a} minus {b}", "{a} - {b}"),
    "mul": ("multiply {a} by {b}", "the product of {a} and {b}", "{a} * {b}"),
    "and": ("AND {a} with {b}", "the bitwise AND of {a} and {b}", "{a} & {b}"),
    "or": ("OR {a} with {b}", "the bitwise OR of {a} and {b}", "{a} | {b}"),
    "xor": ("XOR {a} with {b}", "the bitwise XOR of {a} and {b}", "{a} ^ {b}"),
}
# (noun, load, store, shift, bits)
_WIDTHS = [("32-bit word", "lw", "sw", 2, 32), ("doubleword", "ld", "sd", 3, 64),
           ("unsigned byte", "lbu", "sb", 0, 8), ("unsigned halfword", "lhu", "sh", 1, 16)]


@dataclass(frozen=True)
class Kind:
    name: str
    slots: Callable[[random.Random], dict]
    asm: str
    templates: dict[str, list[str]]
    label: str = "loop"  # the label when a description names none


def _regs(rng: random.Random, k: int, avoid=()) -> list[str]:
    return rng.sample([r for r in _X if r not in avoid], k)


def _xregs(n: int, avoid=()) -> Callable[[random.Random], dict]:
    def draw(rng: random.Random) -> dict:
        names = ["r1", "r2", "r3", "r4"][:n]
        return dict(zip(names, _regs(rng, n, avoid)))
    return draw


def _li_op(rng):
    s = _xregs(3)(rng)
    op = rng.choice(list(_OPS))
    do, what, expr = (t.format(a=s["r2"], b=s["r1"]) for t in _OPS[op])
    return {**s, "k": rng.randint(1, 2000), "op": op, "do": do, "what": what, "expr": expr}


def _minmax(which):
    def draw(rng):
        s = _xregs(3)(rng)
        signed = rng.random() < 0.5
        br = {("max", True): "bge", ("max", False): "bgeu", ("min", True): "blt",
              ("min", False): "bltu"}[which, signed]
        return {**s, "br": br, "sg": "signed" if signed else "unsigned"}
    return draw


def _width(rng, s):
    noun, ld, st, shift, bits = rng.choice(_WIDTHS)
    return {**s, "width": noun, "ld": ld, "st": st, "shift": shift, "bits": bits}


def _frame(rng):
    size = rng.choice([16, 32, 48, 64])
    return {"size": size, "slot": size - 8, "sym": rng.choice(_FUNCS)}


def _vec(rng):
    n, p1, p2, p3 = _regs(rng, 4, avoid=("t0", "t1"))
    sew = rng.choice([8, 16, 32, 64])
    shift = {8: 0, 16: 1, 32: 2, 64: 3}[sew]
    return {"n": n, "p1": p1, "p2": p2, "p3": p3, "sew": sew, "bytes": sew // 8,
            "scale": "slli {tmp2}, {tmp}, %d" % shift if shift else "mv {tmp2}, {tmp}"}


def _fp(rng):
    s = _xregs(3)(rng)
    p = rng.choice(["s", "d"])
    op = rng.choice(["fadd", "fsub", "fmul", "fdiv"])
    word = {"fadd": ("add", "+", "sum"), "fsub": ("subtract", "-", "difference"),
            "fmul": ("multiply", "*", "product"), "fdiv": ("divide", "/", "quotient")}[op]
    return {**s, "p": p, "op": op, "verb": word[0], "sym_op": word[1], "noun": word[2],
            "ld": "flw" if p == "s" else "fld", "st": "fsw" if p == "s" else "fsd",
            "prec": "single" if p == "s" else "double"}


def _fcmp(rng):
    f1, f2 = rng.sample(_F, 2)
    p = rng.choice(["s", "d"])
    op = rng.choice(["flt", "fle", "feq"])
    rel = {"flt": ("less than", "<"), "fle": ("less than or equal to", "<="),
           "feq": ("equal to", "==")}[op]
    return {"f1": f1, "f2": f2, "p": p, "op": op, "rel": rel[0], "rel_sym": rel[1],
            "prec": "single" if p == "s" else "double"}


def _call_args(rng):
    r1 = rng.choice([f"s{i}" for i in range(12)])
    return {"r1": r1, "k": rng.randint(0, 100), "k2": rng.randint(0, 100),
            "sym": rng.choice(_FUNCS)}


def _data(rng):
    d, noun = rng.choice([(".word", "32-bit word"), (".dword", "64-bit doubleword"),
                          (".half", "16-bit halfword"), (".byte", "byte")])
    top = {".byte": 255, ".half": 65535}.get(d, 100000)
    return {"sym": rng.choice(_SYMS), "k": rng.randint(0, top), "dir": d, "dnoun": noun}


def _global(rng):
    s = _width(rng, _xregs(1)(rng))
    return {**s, "sym": rng.choice(_SYMS)}


def _divrem(rng):
    s = _xregs(4)(rng)
    signed = rng.random() < 0.5
    return {**s, "u": "" if signed else "u", "sg": "signed" if signed else "unsigned"}


def _index(rng):
    s = _xregs(3)(rng)
    noun, ld, _, shift, bits = rng.choice([w for w in _WIDTHS if w[3]] )
    addr = "slli {tmp}, {r2}, %d\nadd {tmp}, {r1}, {tmp}" % shift
    return {**s, "width": noun, "ld": ld, "bits": bits, "addr": addr}


def _const(rng):
    width, st, top = rng.choice([("word", "sw", 2047), ("doubleword", "sd", 2047),
                                 ("halfword", "sh", 2047), ("byte", "sb", 255)])
    return {**_xregs(1)(rng), "k": rng.randint(1, top), "off": rng.choice([0, 4, 8, 16, 24]),
            "width": width, "st": st}


def _bit(rng):
    return _xregs(2)(rng)


def _count(rng):
    return {**_xregs(2)(rng), "k": rng.randint(1, 200)}


def _count1(rng):
    return {**_xregs(1)(rng), "k": rng.randint(1, 200)}


def _count3(rng):
    return {**_xregs(3)(rng), "k": rng.randint(1, 200)}


def _k_off(rng):
    return _width(rng, {**_xregs(1)(rng), "k": rng.randint(1, 100),
                        "off": rng.choice([0, 4, 8, 12, 16, 24, 32])})


KINDS: list[Kind] = [
    Kind("li-op", _li_op, "li {r1}, {k}\n{op} {r3}, {r2}, {r1}", {
        "task": ["Load {k} into {r1}, then {do} and store the result in {r3}.",
                 "Set {r1} to {k} and put {what} in {r3}.",
                 "Put the constant {k} in {r1} and compute {r3} = {expr}."],
        "terse": ["{r1} = {k}; {r3} = {expr}", "{r1} <- {k}, then {r3} <- {expr}",
                  "{r3} = {expr} where {r1} = {k}"],
        "question": ["How do I compute {what} into {r3} after loading the constant {k} into "
                     "{r1}?",
                     "How can I load {k} into {r1} and then {do}, with the result in {r3}?",
                     "What instructions put {what} in {r3}, with {r1} first set to {k}?"],
        "manual": ["Materializes the constant {k} in {r1} with li, then writes {what} to {r3}.",
                   "Loads the immediate {k} into {r1} and then computes {r3} = {expr}."],
    }),
    Kind("max", _minmax("max"), "mv {r3}, {r1}\n{br} {r1}, {r2}, {label}\nmv {r3}, {r2}\n"
         "{label}:", {
        "task": ["Set {r3} to the larger of {r1} and {r2} ({sg} comparison).",
                 "Put the {sg} maximum of {r1} and {r2} in {r3}, branching to {label}."],
        "terse": ["{r3} = max({r1}, {r2}) as {sg} integers, using a branch to {label}.",
                  "{r3} = {sg} max({r1}, {r2})"],
        "question": ["How do I get the bigger of {r1} and {r2} ({sg}) into {r3} with a branch?",
                     "How do I pick the greater of two {sg} values, {r1} or {r2}, and put it in "
                     "{r3}?",
                     "What is the branching code for {r3} = max({r1}, {r2}) with a {sg} compare?"],
        "manual": ["Copies {r1} to {r3}, then replaces it with {r2} unless {r1} is greater "
                   "than or equal to {r2} as {sg} numbers.",
                   "Writes the greater of {r1} and {r2}, compared as {sg} integers, to {r3}, "
                   "branching around the second move."],
    }, label="skip"),
    Kind("min", _minmax("min"), "mv {r3}, {r1}\n{br} {r1}, {r2}, {label}\nmv {r3}, {r2}\n"
         "{label}:", {
        "task": ["Set {r3} to the smaller of {r1} and {r2} ({sg} comparison).",
                 "Put the {sg} minimum of {r1} and {r2} in {r3}, branching to {label}."],
        "terse": ["{r3} = min({r1}, {r2}) as {sg} integers, using a branch to {label}.",
                  "{r3} = {sg} min({r1}, {r2})"],
        "question": ["How can I compute the {sg} minimum of {r1} and {r2} into {r3}?",
                     "How do I pick the smaller of two {sg} values, {r1} or {r2}, and put it in "
                     "{r3}?",
                     "What is the branching code for {r3} = min({r1}, {r2}) with a {sg} compare?"],
        "manual": ["Copies {r1} to {r3}, then replaces it with {r2} unless {r1} is less than "
                   "{r2} as {sg} numbers.",
                   "Writes the lesser of {r1} and {r2}, compared as {sg} integers, to {r3}, "
                   "branching around the second move."],
    }, label="skip"),
    Kind("sum-loop", _count1, "li {r1}, 0\nli {tmp}, {k}\n{label}:\nadd {r1}, {r1}, {tmp}\n"
         "addi {tmp}, {tmp}, -1\nbnez {tmp}, {label}", {
        "task": ["Sum the integers from 1 to {k} into {r1} using {tmp} as a counter.",
                 "Loop {k} times, adding the counter {tmp} (counting down from {k}) to {r1}, "
                 "which starts at 0.",
                 "Compute 1 + 2 + ... + {k} in {r1} with a countdown loop."],
        "terse": ["{r1} = sum(1..{k}), counter {tmp}, loop label {label}",
                  "{r1} = 1 + 2 + ... + {k} (loop)",
                  "for i = {k} down to 1: {r1} += i"],
        "question": ["How do I add up the numbers 1 to {k} into {r1} with a loop?",
                     "How can I sum 1 through {k} into {r1} with a countdown loop in {tmp}?"],
        "manual": ["Clears {r1}, then adds a counter that runs from {k} down to 1 into it, "
                   "branching back to {label} while the counter {tmp} is non-zero.",
                   "Accumulates the integers {k}, {k}-1, ..., 1 into {r1}, which starts at zero, "
                   "counting down in {tmp}."],
    }),
    Kind("load-add-store", _k_off, "{ld} {tmp}, {off}({r1})\naddi {tmp}, {tmp}, {k}\n"
         "{st} {tmp}, {off}({r1})", {
        "task": ["Increment the {width} at {off}({r1}) by {k}, using {tmp} as a temporary.",
                 "Add {k} to the {width} stored at address {r1} + {off} (scratch register "
                 "{tmp}).",
                 "Bump the {width} {off} bytes past {r1} by {k}."],
        "terse": ["mem[{r1} + {off}] += {k} ({width})", "{off}({r1}) += {k}, {width}, via {tmp}"],
        "question": ["How do I add {k} to the {width} in memory at {off}({r1})?",
                     "How can I increase the {width} stored {off} bytes after {r1} by {k}?",
                     "What's the load/add/store sequence that adds {k} to the {width} at "
                     "{off}({r1})?"],
        "manual": ["Reads the {width} at {r1} + {off} into {tmp}, adds {k} and writes it back.",
                   "Performs a read-modify-write of the {width} at {off}({r1}): loads it, adds "
                   "{k} and stores the sum back."],
    }),
    Kind("call-frame", _frame, "addi sp, sp, -{size}\nsd ra, {slot}(sp)\ncall {sym}\n"
         "ld ra, {slot}(sp)\naddi sp, sp, {size}\nret", {
        "task": ["Function prologue and epilogue: reserve {size} bytes of stack, save ra, call "
                 "{sym}, restore ra and return.",
                 "Write a non-leaf function body that calls {sym}: allocate a {size}-byte frame, "
                 "keep the return address in it across the call, then tear the frame down and "
                 "return.",
                 "Call {sym} from a function, saving and restoring ra on a {size}-byte stack "
                 "frame."],
        "terse": ["frame {size}: save ra; call {sym}; restore ra; ret",
                  "prologue of {size} bytes with ra saved; call {sym}; epilogue; return"],
        "question": ["How do I call {sym} from inside a function without losing my return "
                     "address ({size}-byte frame)?",
                     "What prologue and epilogue do I need around a call to {sym} ({size}-byte "
                     "stack frame)?"],
        "manual": ["Allocates a {size}-byte stack frame, stores ra at its top slot, calls {sym}, "
                   "reloads ra, frees the frame and returns.",
                   "Sets up a {size}-byte frame holding the return address, calls {sym}, then "
                   "restores ra, pops the frame and returns."],
    }),
    Kind("copy-loop", _count3, "li {r3}, {k}\n{label}:\nlw {tmp}, 0({r1})\nsw {tmp}, 0({r2})\n"
         "addi {r1}, {r1}, 4\naddi {r2}, {r2}, 4\naddi {r3}, {r3}, -1\nbnez {r3}, {label}", {
        "task": ["Copy {k} words from the address in {r1} to the address in {r2}, using {r3} "
                 "as a counter and {tmp} as a temporary.",
                 "Word-copy loop: move {k} 32-bit words from {r1} to {r2} (counter {r3}, "
                 "scratch {tmp}).",
                 "Copy an array of {k} 32-bit integers from {r1} to {r2} (loop counter {r3})."],
        "terse": ["memcpy32({r2}, {r1}, {k} words), counter {r3}, temp {tmp}",
                  "for {r3} = {k}..1: *{r2}++ = *{r1}++ (32-bit words)"],
        "question": ["How do I copy {k} 32-bit words from {r1} to {r2} in a loop, counting "
                     "with {r3}?",
                     "What loop copies {k} words from the buffer at {r1} to the buffer at {r2}, "
                     "with {r3} as the count?"],
        "manual": ["Loads each of {k} words from {r1} into {tmp} and stores it at {r2}, "
                   "advancing both pointers by 4 while the counter {r3} counts down.",
                   "Copies {k} consecutive 32-bit words from the source pointer {r1} to the "
                   "destination {r2}, one word per iteration, with {r3} as the remaining count."],
    }),
    Kind("abs", _bit, "mv {r1}, {r2}\nbgez {r2}, {label}\nneg {r1}, {r2}\n{label}:", {
        "task": ["Set {r1} to the absolute value of {r2}.",
                 "Put |{r2}| in {r1}, branching over the negation to {label}.",
                 "Make {r1} the magnitude of {r2}, treating {r2} as signed."],
        "terse": ["{r1} = |{r2}| (signed), branching over the negation to {label}.",
                  "{r1} = abs({r2})"],
        "question": ["How do I get the absolute value of {r2} into {r1}?",
                     "What's the branch-based way to compute abs({r2}) into {r1}?"],
        "manual": ["Copies {r2} to {r1} and negates it when {r2} is negative.",
                   "Writes the absolute value of the signed integer in {r2} to {r1}, skipping the"
                   " negation when {r2} is not negative."],
    }, label="skip"),
    Kind("vector-add-loop", _vec, "{label}:\nvsetvli {tmp}, {n}, e{sew}, m1, ta, ma\n"
         "vle{sew}.v v1, ({p1})\nvle{sew}.v v2, ({p2})\nvadd.vv v3, v1, v2\n"
         "vse{sew}.v v3, ({p3})\nsub {n}, {n}, {tmp}\n{scale}\nadd {p1}, {p1}, {tmp2}\n"
         "add {p2}, {p2}, {tmp2}\nadd {p3}, {p3}, {tmp2}\nbnez {n}, {label}", {
        "task": ["Add the {sew}-bit arrays at {p1} and {p2} element-wise into the array at {p3}; "
                 "{n} holds the element count. Strip-mine with vsetvli, using {tmp} for the "
                 "granted length and {tmp2} for the byte step.",
                 "Add two arrays of {sew}-bit integers ({p1}, {p2}) into {p3} with RVV, {n} "
                 "elements."],
        "terse": ["Vector loop: {p3}[i] = {p1}[i] + {p2}[i] for {n} elements of {sew} bits "
                  "({tmp} = vl, {tmp2} = scratch).",
                  "vector add, e{sew}: {p3}[0..{n}) = {p1}[..] + {p2}[..]"],
        "question": ["How do I write a strip-mined RVV loop that adds {n} {sew}-bit elements of "
                     "{p1} and {p2} into {p3}?",
                     "Can you show an RVV loop that computes {p3}[i] = {p1}[i] + {p2}[i] over {n}"
                     " {sew}-bit elements?"],
        "manual": ["Strip-mines an element-wise addition of two {sew}-bit arrays: each pass sets "
                   "vl with vsetvli from the remaining count {n}, loads from {p1} and {p2}, adds,"
                   " stores to {p3} and advances the three pointers."],
    }),
    Kind("fp-load-op-store", _fp, "{ld} ft0, 0({r1})\n{ld} ft1, 0({r2})\n"
         "{op}.{p} ft2, ft0, ft1\n{st} ft2, 0({r3})", {
        "task": ["Load two {prec}-precision numbers from {r1} and {r2}, {verb} them and store "
                 "the result at {r3}.",
                 "Read the {prec} values at {r1} and {r2}, compute their {noun} and write it "
                 "to the address in {r3} (use ft0-ft2)."],
        "terse": ["mem[{r3}] = mem[{r1}] {sym_op} mem[{r2}] in {prec} precision (use ft0-ft2).",
                  "*{r3} = *{r1} {sym_op} *{r2} ({prec})"],
        "question": ["How do I store the {noun} of the {prec}-precision floats at {r1} and {r2} "
                     "to {r3}?",
                     "How would I {verb} the {prec}-precision floats stored at {r1} and {r2} and "
                     "save the answer at {r3}?"],
        "manual": ["Loads {prec}-precision values from {r1} and {r2} into ft0 and ft1, computes "
                   "their {noun} into ft2 and stores it at {r3}."],
    }),
    Kind("atomic-add", _count1, "li {tmp}, {k}\namoadd.w zero, {tmp}, ({r1})", {
        "task": ["Atomically add {k} to the word at the address in {r1}, discarding the old "
                 "value ({tmp} holds the addend).",
                 "Increment the shared 32-bit counter at {r1} by {k} with an AMO, using {tmp} "
                 "for the constant.",
                 "Atomically increase the word at {r1} by {k}; I don't need the old value."],
        "terse": ["atomic mem32[{r1}] += {k}, old value discarded",
                  "amoadd {k} into the 32-bit word at {r1}, result discarded"],
        "question": ["How do I atomically add the constant {k} to the 32-bit word that {r1} "
                     "points to?",
                     "What's the atomic way to bump the word at {r1} by {k}?"],
        "manual": ["Loads {k} into {tmp} and adds it atomically to the word at {r1} with "
                   "amoadd.w, writing the old value to zero.",
                   "Atomically adds the constant {k} to the 32-bit word addressed by {r1}, "
                   "ignoring its previous value."],
    }),
    Kind("set-bit", _bit, "li {tmp}, 1\nsll {tmp}, {tmp}, {r2}\nor {r1}, {r1}, {tmp}", {
        "task": ["Set bit {r2} of {r1}, using {tmp} as scratch.",
                 "Turn on the bit of {r1} whose index is in {r2}."],
        "terse": ["{r1} |= 1 << {r2} (scratch {tmp}).", "{r1} = {r1} | (1 << {r2})"],
        "question": ["How do I set the bit numbered {r2} in {r1}?",
                     "How can I OR a single bit, at the position in {r2}, into {r1}?"],
        "manual": ["Builds the mask 1 << {r2} in {tmp} and ORs it into {r1}.",
                   "Sets the bit of {r1} selected by {r2}, leaving the other bits unchanged."],
    }),
    Kind("clear-bit", _bit, "li {tmp}, 1\nsll {tmp}, {tmp}, {r2}\nnot {tmp}, {tmp}\n"
         "and {r1}, {r1}, {tmp}", {
        "task": ["Clear bit {r2} of {r1}, using {tmp} as scratch.",
                 "Turn off the bit of {r1} whose index is in {r2}."],
        "terse": ["{r1} &= ~(1 << {r2}) (scratch {tmp}).",
                  "{r1} = {r1} & ~(1 << {r2})"],
        "question": ["How do I clear the bit numbered {r2} in {r1}?",
                     "What's the code to reset bit {r2} of {r1} to zero?"],
        "manual": ["Builds the mask 1 << {r2} in {tmp}, inverts it and ANDs it into {r1}.",
                   "Clears the bit of {r1} selected by {r2}, leaving the other bits unchanged."],
    }),
    Kind("mul-acc", lambda rng: _xregs(3)(rng), "mul {tmp}, {r2}, {r3}\nadd {r1}, {r1}, {tmp}", {
        "task": ["Multiply {r2} by {r3} and add the product to {r1}, using {tmp} as scratch.",
                 "Accumulate {r2} times {r3} into {r1}."],
        "terse": ["{r1} += {r2} * {r3} (using {tmp} as scratch)", "{r1} = {r1} + {r2}*{r3}"],
        "question": ["How do I do a multiply-accumulate {r1} += {r2} * {r3} on integers?",
                     "How do I add the product of {r2} and {r3} to the running total in {r1}?"],
        "manual": ["Multiplies {r2} by {r3} and adds the low 64 bits of the product to {r1}."],
    }),
    Kind("save-s0-call", lambda rng: {"sym": rng.choice(_FUNCS[:4])},
         "addi sp, sp, -16\nsd ra, 8(sp)\nsd s0, 0(sp)\nmv s0, a0\ncall {sym}\nadd a0, a0, s0\n"
         "ld s0, 0(sp)\nld ra, 8(sp)\naddi sp, sp, 16\nret", {
        "task": ["Function that keeps a0 in s0 across a call to {sym}, then returns {sym}'s "
                 "result plus the saved value: save ra and s0 in a 16-byte frame.",
                 "Non-leaf function: preserve ra and the callee-saved s0 on the stack, call "
                 "{sym}, add the original a0 (kept in s0) to its result, restore and return."],
        "terse": ["f(x) = {sym}(x) + x, x kept in s0, 16-byte frame"],
        "question": ["How do I write a function returning {sym}(a0) + a0 that keeps a0 alive "
                     "across the call in s0?",
                     "What does a function look like that calls {sym} and adds its own argument "
                     "(kept in s0) to the result?"],
        "manual": ["A non-leaf function: saves ra and s0 in a 16-byte frame, keeps its argument "
                   "a0 in s0 across a call to {sym}, returns {sym}'s result plus that argument "
                   "and restores both registers."],
    }),
    Kind("spin-lock", _bit, "li {tmp}, 1\n{label}:\namoswap.w.aq {r2}, {tmp}, ({r1})\n"
         "bnez {r2}, {label}", {
        "task": ["Acquire the spin lock at the address in {r1}: swap 1 in with acquire ordering "
                 "until the old value is 0 ({tmp} = 1, {r2} = old value).",
                 "Spin until the lock word at {r1} is taken: amoswap.w.aq in a loop, {tmp} "
                 "holding 1 and {r2} the previous value."],
        "terse": ["lock({r1}): spin on amoswap.w.aq, old value in {r2}",
                  "acquire the spinlock at {r1} with amoswap.w.aq, {r2} = old value"],
        "question": ["How do I take a test-and-set spin lock at {r1}, old value in {r2}?",
                     "What's the amoswap loop that acquires a lock at {r1} (old value in {r2})?"],
        "manual": ["Repeatedly swaps 1 into the lock word at {r1} with acquire ordering until "
                   "the value swapped out into {r2} is zero."],
    }, label="retry"),
    Kind("spin-unlock", lambda rng: _xregs(1)(rng), "fence rw, w\nsw zero, 0({r1})", {
        "task": ["Release the spin lock at {r1}: order earlier accesses before the store, then "
                 "write 0 to it.", "Unlock the lock word at {r1} with a fence and a store."],
        "terse": ["unlock({r1}): fence rw,w; mem32[{r1}] = 0"],
        "question": ["How do I release a spin lock at {r1} with a plain store?",
                     "What is the release sequence for a spin lock whose address is in {r1}?"],
        "manual": ["Releases the lock at {r1}: a fence orders every earlier load and store before"
                   " the store of zero to the lock word."],
    }),
    Kind("cas-loop", _xregs(3), "{label}_retry:\nlr.w {tmp}, ({r1})\nbne {tmp}, {r2}, {label}\n"
         "sc.w {tmp}, {r3}, ({r1})\nbnez {tmp}, {label}_retry\n{label}:", {
        "task": ["Compare-and-swap on the word at {r1}: if it equals {r2}, replace it with "
                 "{r3}; retry with lr.w/sc.w, using {tmp} for the loaded value and status.",
                 "LR/SC loop: atomically set the 32-bit word at {r1} to {r3} when it holds {r2} "
                 "(scratch {tmp}, exit to {label})."],
        "terse": ["CAS32({r1}, expected {r2}, new {r3}) with lr.w/sc.w"],
        "question": ["How do I implement compare-and-swap of the word at {r1} (expect {r2}, "
                     "store {r3}) with LR/SC?",
                     "How can I atomically replace the word at {r1} with {r3} only if it still "
                     "equals {r2}, using load-reserved and store-conditional?"],
        "manual": ["Loads the word at {r1} with lr.w and exits to {label} if it differs from "
                   "{r2}; otherwise tries to store {r3} with sc.w, retrying until the store "
                   "succeeds."],
    }, label="done"),
    Kind("swap", _bit, "mv {tmp}, {r1}\nmv {r1}, {r2}\nmv {r2}, {tmp}", {
        "task": ["Swap the values of {r1} and {r2} using {tmp} as a temporary.",
                 "Exchange {r1} and {r2}."],
        "terse": ["{r1} <-> {r2} (via {tmp})", "swap({r1}, {r2})"],
        "question": ["How do I swap two registers, {r1} and {r2}?",
                     "What's the three-move sequence that swaps {r1} with {r2}?"],
        "manual": ["Exchanges the contents of {r1} and {r2} through a temporary register."],
    }),
    Kind("call-args", _call_args, "li a0, {k}\nli a1, {k2}\ncall {sym}\nmv {r1}, a0", {
        "task": ["Call {sym} with the arguments {k} and {k2} and keep its return value in {r1}.",
                 "Pass {k} and {k2} to {sym} and save the result in {r1}."],
        "terse": ["{r1} = {sym}({k}, {k2})",
                  "call {sym}(a0 = {k}, a1 = {k2}); {r1} = a0"],
        "question": ["How do I call {sym}({k}, {k2}) and get the result into {r1}?",
                     "What code calls {sym} with {k} and {k2} as its two arguments and keeps the "
                     "result in {r1}?"],
        "manual": ["Loads the arguments {k} and {k2} into a0 and a1, calls {sym} and copies "
                   "its return value from a0 to {r1}."],
    }),
    Kind("if-equal-set", _count3, "bne {r1}, {r2}, {label}\nli {r3}, {k}\n{label}:", {
        "task": ["If {r1} equals {r2}, set {r3} to {k}.",
                 "Load {k} into {r3} only when {r1} == {r2} (skip to {label} otherwise)."],
        "terse": ["if ({r1} == {r2}) {r3} = {k};"],
        "question": ["How do I set {r3} to {k} when {r1} and {r2} are equal?",
                     "How do I conditionally set {r3} = {k} if {r1} == {r2}?"],
        "manual": ["Branches over the load of {k} into {r3} when {r1} and {r2} differ, so {r3} is"
                   " set only when they are equal."],
    }, label="skip"),
    Kind("div-rem", _divrem, "div{u} {r3}, {r1}, {r2}\nrem{u} {r4}, {r1}, {r2}", {
        "task": ["Divide {r1} by {r2} ({sg}): quotient in {r3}, remainder in {r4}.",
                 "Compute both the {sg} quotient ({r3}) and remainder ({r4}) of {r1} / {r2}."],
        "terse": ["{r3} = {r1} / {r2}; {r4} = {r1} % {r2} ({sg})",
                  "({r3}, {r4}) = divmod({r1}, {r2}), {sg}"],
        "question": ["How do I get the {sg} quotient and remainder of {r1} divided by {r2} into "
                     "{r3} and {r4}?"],
        "manual": ["Divides {r1} by {r2} as {sg} integers, writing the quotient to {r3} and the "
                   "remainder to {r4}."],
    }),
    Kind("data-word", _data, ".data\n{sym}:\n{dir} {k}\n.text", {
        "task": ["Declare a data {dnoun} {sym} initialised to {k}, then switch back to the code "
                 "section.", "Define the variable {sym} as a {dnoun} holding {k} in .data."],
        "terse": ["{sym}: {dir} {k} (in .data, then back to .text)"],
        "question": ["How do I declare a {dnoun} variable {sym} = {k} in the data section?",
                     "How do I reserve an initialised {dnoun} named {sym} with the value {k}?"],
        "manual": ["Switches to the data section, defines the label {sym} with a {dnoun} of value"
                   " {k} and returns to the text section."],
    }),
    Kind("load-global", _global, "la {tmp}, {sym}\n{ld} {r1}, 0({tmp})", {
        "task": ["Load the {width} variable {sym} into {r1}.",
                 "Read the global {sym} ({width}) into {r1}, using {tmp} for its address."],
        "terse": ["{r1} = {sym} ({width})"],
        "question": ["How do I read the global {width} {sym} into {r1}?",
                     "What's the code to load the {width} global variable {sym} into register "
                     "{r1}?"],
        "manual": ["Takes the address of {sym} with la and loads the {width} stored there into "
                   "{r1}."],
    }),
    Kind("store-global", _global, "la {tmp}, {sym}\n{st} {r1}, 0({tmp})", {
        "task": ["Store {r1} into the {width} variable {sym}.",
                 "Write {r1} to the global {sym} ({width}), using {tmp} for its address."],
        "terse": ["{sym} = {r1} ({width})"],
        "question": ["How do I write {r1} to the global {width} {sym}?",
                     "How can I save the value of {r1} into the global {sym}, which is a {width}?"],
        "manual": ["Takes the address of {sym} with la and stores {r1} there as a {width}."],
    }),
    Kind("zero-loop", _count, "{label}:\nsd zero, 0({r1})\naddi {r1}, {r1}, 8\n"
         "addi {r2}, {r2}, -1\nbnez {r2}, {label}", {
        "task": ["Clear {r2} doublewords starting at the address in {r1}.",
                 "Zero-fill memory from {r1}: {r2} 64-bit words, one per loop iteration."],
        "terse": ["memset64({r1}, 0, {r2} doublewords)",
                  "repeat {r2} times: store 0 at {r1} (64-bit), {r1} += 8"],
        "question": ["How do I zero {r2} doublewords at {r1} with a loop?"],
        "manual": ["Stores zero to {r2} consecutive doublewords starting at {r1}, advancing {r1} "
                   "by 8 and counting {r2} down to zero."],
    }),
    Kind("fp-branch", _fcmp, "{op}.{p} {tmp}, {f1}, {f2}\nbnez {tmp}, {label}", {
        "task": ["Branch to {label} if {f1} is {rel} {f2} ({prec} precision).",
                 "Jump to {label} when the {prec} value in {f1} is {rel} {f2}, using {tmp} "
                 "for the comparison."],
        "terse": ["if ({f1} {rel_sym} {f2}) goto {label} ({prec})"],
        "question": ["How do I branch to {label} when {f1} {rel_sym} {f2} as {prec} floats?",
                     "How can I jump to {label} if {f1} is {rel} {f2}, comparing them as {prec} "
                     "floats?"],
        "manual": ["Compares the {prec}-precision values in {f1} and {f2} and branches to {label}"
                   " when {f1} is {rel} {f2}."],
    }, label="skip"),
    Kind("array-load", _index, "{addr}\n{ld} {r3}, 0({tmp})", {
        "task": ["Load element {r2} of the {width} array at {r1} into {r3}.",
                 "Read {r1}[{r2}] ({width} elements) into {r3}, using {tmp} for the address."],
        "terse": ["{r3} = {r1}[{r2}] ({bits}-bit elements)"],
        "question": ["How do I index the {width} array at {r1} with {r2} and load the element "
                     "into {r3}?",
                     "What's the code for {r3} = {r1}[{r2}] when the array holds {bits}-bit "
                     "values?"],
        "manual": ["Scales the index {r2} by the element size, adds the base address {r1} and "
                   "loads the {width} element there into {r3}."],
    }),
    Kind("store-const", _const, "li {tmp}, {k}\n{st} {tmp}, {off}({r1})", {
        "task": ["Store the constant {k} as a {width} at {off}({r1}).",
                 "Write {k} to the {width} at address {r1} + {off}, using {tmp} for the value.",
                 "Put the value {k} into the {width} located at {off}({r1})."],
        "terse": ["mem[{r1} + {off}] = {k} ({width})"],
        "question": ["How do I store the number {k} as a {width} at {off}({r1})?"],
        "manual": ["Loads {k} into a temporary register and stores it as a {width} at offset "
                   "{off} from {r1}."],
    }),
]

STYLE_WEIGHTS = {"manual": 2, "terse": 2, "question": 2, "task": 3}


def snippet(rng: random.Random) -> dict:
    """One snippet row: description, instructions, phrasing style and group."""
    kind = rng.choice(KINDS)
    styles = [s for s in STYLE_WEIGHTS if s in kind.templates]
    style = rng.choices(styles, [STYLE_WEIGHTS[s] for s in styles])[0]
    index = rng.randrange(len(kind.templates[style]))
    template = kind.templates[style][index]
    slots = kind.slots(rng)
    taken = {v for v in slots.values() if isinstance(v, str) and v in _X}
    for name in ("tmp", "tmp2"):  # named scratch registers: any free one
        if "{%s}" % name in template:
            slots[name] = rng.choice([r for r in _X if r not in taken])
            taken.add(slots[name])
    for name in ("tmp", "tmp2"):  # unnamed: the first free temporary
        if name not in slots:
            slots[name] = next(r for r in _SCRATCH if r not in taken)
            taken.add(slots[name])
    slots["label"] = rng.choice(_LABELS) if "{label}" in template else kind.label
    asm = kind.asm.format(**slots).format(**slots)  # {scale}/{addr} hold further slots
    text = _alt(template, rng).format(**slots)
    return {"description": text, "instructions": asm, "category": "snippet", "style": "snippet",
            "phrasing": style, "group": f"snippet:{kind.name}|{style}{index}"}
