"""A tiny Mistral-shaped model with a SentencePiece BPE tokenizer (GGUF export and import
tests)."""

import json
from pathlib import Path


def spm_model_dir(root: Path, with_model_file: bool) -> Path:
    """A tiny Mistral-shaped model whose tokenizer is a SentencePiece BPE with byte
    fallback (trained here on RISC-V text), converted to tokenizer.json as Mistral's is."""
    import io

    import mlx.core as mx
    import sentencepiece as spm
    from mlx.utils import tree_flatten
    from mlx_lm.models.llama import Model, ModelArgs
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from rvtune.riscv.generate import generate_rows
    from rvtune.training.tiny import ARCH

    texts = []
    for row in generate_rows(size=400, seed=0):
        ins = row["instructions"]
        texts.append(row["description"] + "\n" + ("\n".join(ins) if isinstance(ins, list)
                                                  else ins))
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=buf,
                                   vocab_size=400, model_type="bpe", byte_fallback=True,
                                   character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2,
                                   pad_id=-1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    merges = []  # every split of a piece into two pieces, ranked by the piece's score
    for piece, i in sorted(vocab.items(), key=lambda kv: -sp.get_score(kv[1])):
        if i < 3 or piece.startswith("<0x"):
            continue
        pairs = [(piece[:k], piece[k:]) for k in range(1, len(piece))
                 if piece[:k] in vocab and piece[k:] in vocab]
        merges += sorted(pairs, key=lambda p: (vocab[p[0]], vocab[p[1]]))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>",
                               byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                 split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, special=True) for t in ("<unk>", "<s>", "</s>")])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A",
                                                       special_tokens=[("<s>", 1)])
    out = root / ("spm-with-model" if with_model_file else "spm")
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(str(out))
    if with_model_file:
        (out / "tokenizer.model").write_bytes(buf.getvalue())
    config = {**ARCH, "vocab_size": 448, "bos_token_id": 1, "eos_token_id": 2}
    mx.random.seed(1)
    weights = dict(tree_flatten(Model(ModelArgs.from_dict(config)).parameters()))
    mx.eval(weights)
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config))
    return out
