"""``rvtune eval``: generate answers for held-out prompts, score them with an evaluator plugin,
and write ``eval.jsonl``, ``eval.json``, ``report.md`` and ``eval.png``.

The pieces, one module each: :mod:`.examples` (what to evaluate), :mod:`.generate` (batched
generation), :mod:`.scoring` (evaluator plugins, aggregates, base-vs-tuned comparison),
:mod:`.report` and :mod:`.chart` (outputs), :mod:`.pipeline` (the whole command).
"""
