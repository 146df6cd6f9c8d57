"""Phrasing templates of the built-in RISC-V dataset, by semantic class and style.

Kept apart from ``generate.py`` because it is data: every list below was written by hand for
rvtune. A template is a ``str.format`` string over the slots its class fills (``d`` the
destination, ``does``/``do``/``what``/``expr`` the operation, ...); ``[[a|b|c]]`` picks one
wording at random and does not change the template's identity (its ``group`` id).

Styles: ``manual`` (the ISA manual's third-person prose), ``terse`` (an expression),
``question`` (asking for the instruction), ``task`` (an imperative request).
"""

STYLES = ("manual", "terse", "question", "task")

TEMPLATES: dict[str, dict[str, list[str]]] = {
    # Integer and FP operations that produce a value in a register.
    "compute": {
        "manual": [
            "{Does} and [[writes|places|stores]] the result [[in|to]] {D}.",
            "{D} [[receives|is set to|gets]] {what}.",
            "The instruction {does}; the result is written to {D}.",
            "[[Computes|Forms|Produces]] {what} and writes it to {D}.",
        ],
        "terse": [
            "{d} = {expr}",
            "{d} <- {expr}",
            "{d} := {expr}",
            "{expr} -> {d}",
        ],
        "question": [
            "How do I {do} and put the result in {d}?",
            "Which instruction [[computes|gives me]] {what} in {d}?",
            "What RISC-V instruction sets {d} to {what}?",
            "How can I get {what} into {d}?",
        ],
        "task": [
            "{Do}, [[putting|leaving|writing]] the result in {d}.",
            "[[Set {d} to|Load {d} with|Make {d} hold]] {what}.",
            "I need {what} in {d}.",
            "{Do}; the result goes [[to|in]] {d}.",
        ],
    },
    "load": {
        "manual": [
            "Loads {a_kind} from memory at address {base} + {off}{ext_does} and writes it to {D}.",
            "Reads {a_kind} from the effective address {base} + {off}{ext_does} and places it "
            "in {D}.",
            "The effective address is {base} plus the offset {off}; {a_kind} is read from it"
            "{ext_does} and written to {D}.",
        ],
        "terse": [
            "{d} = {sx}mem{bits}[{base} + {off}]",
            "{d} <- {kind} at {off}({base})",
            "load {kind}: {d} = [{base} + {off}]",
        ],
        "question": [
            "How do I load {a_kind} from {off}({base}) into {d}?",
            "Which instruction reads {a_kind} at {base} + {off} into {d}?",
            "What's the instruction to fetch {a_kind} from address {base} plus {off} into {d}?",
        ],
        "task": [
            "Load the {kind} at offset {off} from {base} into {d}.",
            "Read {a_kind} from memory at {base} + {off} and put it in {d}.",
            "Get the {kind} stored {off} bytes past the address in {base} into {d}.",
        ],
    },
    "store": {
        "manual": [
            "Stores {part} of {src} to memory at address {base} + {off}.",
            "Writes {part} of {src} to the effective address {base} + {off}.",
            "The {kind} in {part} of {src} is written to memory at {base} plus the offset {off}.",
        ],
        "terse": [
            "mem{bits}[{base} + {off}] = {src}",
            "[{base} + {off}] <- {src} ({kind})",
            "store {kind}: {off}({base}) = {src}",
        ],
        "question": [
            "How do I store {part} of {src} at {off}({base})?",
            "Which instruction writes {src} as {a_kind} to address {base} + {off}?",
            "What stores {a_kind} from {src} to memory at {base} plus {off}?",
        ],
        "task": [
            "Store {src} as {a_kind} at {base} + {off}.",
            "Write {part} of {src} to memory at offset {off} from {base}.",
            "Save {src} ({kind}) to the address {off}({base}).",
        ],
    },
    "branch": {
        "manual": [
            "Branches to {tgt} if {cond}; otherwise execution continues with the next "
            "instruction.",
            "{Compares} and takes the branch to {tgt} when {cond}.",
            "If {cond}, control transfers to {tgt}.",
        ],
        "terse": [
            "if ({cexpr}) goto {tgt}",
            "if {cexpr}: pc = {tgt}",
            "{cexpr} ? jump {tgt}",
        ],
        "question": [
            "How do I branch to {tgt} when {cond}?",
            "Which instruction jumps to {tgt} only if {cond}?",
            "What branch goes to {tgt} if {cond}?",
        ],
        "task": [
            "Jump to {tgt} if {cond}.",
            "If {cond}, continue at {tgt}; otherwise fall through.",
            "Go to {tgt} when {cond}.",
        ],
    },
    # Jumps, calls, fences, system instructions, CSR accesses: an effect, not a value.
    "effect": {
        "manual": [
            "{Does}.",
            "This instruction {does}.",
            "[[Used to|Serves to]] {do}.",
        ],
        "terse": [
            "{expr}",
            "{expr_alt}",
        ],
        "question": [
            "How do I {do}?",
            "Which instruction should I use to {do}?",
            "What is the RISC-V instruction to {do}?",
        ],
        "task": [
            "{Do}.",
            "I want to {do}.",
            "Emit the instruction that will {do}.",
        ],
    },
    "atomic": {
        "manual": [
            "Atomically {does_amo}{order}.",
            "{Does_amo} as one indivisible operation{order}.",
            "In a single atomic read-modify-write, {does_amo}{order}.",
        ],
        "terse": [
            "{expr}  (atomic{order_short})",
            "atomic{order_short}: {expr}",
        ],
        "question": [
            "How do I atomically {do_amo}{order}?",
            "Which instruction atomically {does_amo}{order}?",
            "What atomic memory operation should I use to {do_amo}{order}?",
        ],
        "task": [
            "Atomically {do_amo}{order}.",
            "{Do_amo} atomically{order}.",
            "Without a lock, {do_amo}{order}.",
        ],
    },
    "convert": {
        "manual": [
            "Converts the {src_type} in {a} to {a_dst_type}{rnd} and writes it to {D}.",
            "The {src_type} in register {a} is converted to {a_dst_type}{rnd}; the result goes "
            "to {D}.",
            "Reads {a} as {a_src_type}, converts it to {a_dst_type}{rnd} and places the result "
            "in {D}.",
        ],
        "terse": [
            "{d} = ({dst_short}) {a}{rnd_short}",
            "{d} <- {dst_short}({a} as {src_short}){rnd_short}",
            "{src_short} -> {dst_short}: {d} = {a}{rnd_short}",
        ],
        "question": [
            "How do I convert the {src_type} in {a} to {a_dst_type} in {d}{rnd}?",
            "Which instruction turns {a_src_type} in {a} into {a_dst_type} in {d}{rnd}?",
            "What converts {src_type} {a} into {a_dst_type}{rnd}, result in {d}?",
        ],
        "task": [
            "Convert {a} from {a_src_type} to {a_dst_type}{rnd}, result in {d}.",
            "Turn the {src_type} held in {a} into {a_dst_type} in {d}{rnd}.",
            "Put {a} converted from {a_src_type} to {a_dst_type} into {d}{rnd}.",
        ],
    },
    "vsetvl": {
        "manual": [
            "Sets vl, the number of elements to process, from the application vector length "
            "{avl} and the vector type {vt}, and writes the new vl to {D}.",
            "Configures the vector unit for {vt} with application vector length {avl}; the "
            "granted vector length is written to {D}.",
        ],
        "terse": [
            "{d} = vl = min({avl}, VLMAX); vtype = {vt}",
            "vsetvl: avl={avl}, vtype={vt} -> {d}",
        ],
        "question": [
            "How do I configure the vector unit for {vt} with {avl} elements and get vl in {d}?",
            "Which instruction sets vl from {avl} and vtype to {vt}, writing vl to {d}?",
        ],
        "task": [
            "Set up vectors of {vt} for {avl} elements, writing the granted length to {d}.",
            "Configure vl from {avl} with vtype {vt}; put the new vl in {d}.",
        ],
    },
    "vmem": {
        "manual": [
            "{Does}{mask}.",
            "This vector {kind} {does}{mask}.",
            "A {kind} that {does}{mask}.",
        ],
        "terse": [
            "{expr}{mask_short}",
            "{kind}: {expr}{mask_short}",
        ],
        "question": [
            "How do I {do}{mask}?",
            "Which vector instruction will {do}{mask}?",
        ],
        "task": [
            "{Do}{mask}.",
            "Using a {kind}, {do}{mask}.",
        ],
    },
    "vcompute": {
        "manual": [
            "{Does}, writing the results to {D}{mask}.",
            "For each element i, {vd}[i] receives {what_i}{mask}.",
            "Computes, {form}, {what} and writes it to {D}{mask}.",
        ],
        "terse": [
            "{vd}[i] = {expr_i}{mask_short}",
            "{vd} = {expr}  ({form_short}){mask_short}",
        ],
        "question": [
            "How do I {do} into {vd}{mask}?",
            "Which vector instruction computes {what} {form} into {vd}{mask}?",
            "What's the {form_short} instruction for {what} into {vd}{mask}?",
        ],
        "task": [
            "{Do} into {vd}{mask}.",
            "Compute {what} element by element, {form}, and store it in {vd}{mask}.",
            "Fill {vd} with {what}{mask}.",
        ],
    },
}

# Suffixes that say a compressed (C extension) form is wanted, one picked per row.
COMPRESSED = [" (compressed)", " using a 16-bit compressed instruction",
              ", in compressed (RVC) form", " with the C extension's 2-byte encoding"]
