/* rvtune's test probe into llama.cpp: tokenize a text the way llama.cpp does (BOS as the
 * GGUF says, special tokens parsed), run the model (optionally with a LoRA adapter GGUF)
 * and write the token ids and the logits of every position to a file; then, with a
 * positive N_PREDICT, continue greedily (argmax, up to an end-of-generation token).
 *
 *   llama-logits MODEL.gguf OUT.bin TEXT [ADAPTER.gguf|-] [N_PREDICT]
 *
 * OUT.bin: int32 n_tokens, int32 n_vocab, int32 n_generated, int32 ids[n_tokens],
 *          int32 generated[n_generated], float32 logits[n_tokens][n_vocab].
 * Built by .ci/run beside the llama.cpp tools, against the same libllama. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *data) {
    (void) data;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf OUT.bin TEXT [ADAPTER.gguf|-] [N_PREDICT]\n",
                argv[0]);
        return 2;
    }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);

    const char *text = argv[3];
    int max = (int) strlen(text) + 8;
    llama_token *ids = malloc(sizeof(llama_token) * max);
    int n = llama_tokenize(vocab, text, (int) strlen(text), ids, max, true, true);
    if (n <= 0) { fprintf(stderr, "tokenization failed (%d)\n", n); return 1; }

    int n_predict = argc > 5 ? atoi(argv[5]) : 0;
    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = n + n_predict + 16;
    cparams.n_batch = n + 16;
    cparams.n_ubatch = n + 16;
    cparams.n_threads = 2;
    cparams.n_threads_batch = 2;
    struct llama_context *ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    if (argc > 4 && strcmp(argv[4], "-") != 0) {
        struct llama_adapter_lora *lora = llama_adapter_lora_init(model, argv[4]);
        if (!lora) { fprintf(stderr, "cannot load adapter %s\n", argv[4]); return 1; }
        float scale = 1.0f;
        if (llama_set_adapters_lora(ctx, &lora, 1, &scale) != 0) {
            fprintf(stderr, "cannot apply adapter %s\n", argv[4]);
            return 1;
        }
    }

    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "decode failed\n"); return 1; }

    int n_vocab = llama_vocab_n_tokens(vocab);
    float *all = malloc(sizeof(float) * (size_t) n * n_vocab);
    for (int i = 0; i < n; i++)
        memcpy(all + (size_t) i * n_vocab, llama_get_logits_ith(ctx, i), sizeof(float) * n_vocab);

    llama_token *generated = malloc(sizeof(llama_token) * (n_predict + 1));
    int n_gen = 0;
    while (n_gen < n_predict) {
        const float *last = llama_get_logits_ith(ctx, -1);
        llama_token best = 0;
        for (int v = 1; v < n_vocab; v++) if (last[v] > last[best]) best = v;
        if (llama_vocab_is_eog(vocab, best)) break;
        generated[n_gen++] = best;
        struct llama_batch one = llama_batch_get_one(&generated[n_gen - 1], 1);
        if (llama_decode(ctx, one) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    }

    FILE *out = fopen(argv[2], "wb");
    if (!out) { fprintf(stderr, "cannot write %s\n", argv[2]); return 1; }
    fwrite(&n, sizeof(int), 1, out);
    fwrite(&n_vocab, sizeof(int), 1, out);
    fwrite(&n_gen, sizeof(int), 1, out);
    fwrite(ids, sizeof(llama_token), n, out);
    fwrite(generated, sizeof(llama_token), n_gen, out);
    fwrite(all, sizeof(float), (size_t) n * n_vocab, out);
    fclose(out);
    free(all);
    free(generated);

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    free(ids);
    return 0;
}
