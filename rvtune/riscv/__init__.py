"""RISC-V support: instruction table, dataset generator, and a real-assembler validator."""
