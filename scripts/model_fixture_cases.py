"""The cases of make_model_fixtures.py, one per file test/fixtures/models/<case>.safetensors:
the model's config (docs/models.md) and the batch; model_fixture_check.full_config adds
seed, dropout, batch, the token ids and the torch version.

Sizes: H <= 8, E <= 6, T <= 9, B <= 5, V <= 12, C <= 5. Lengths: classifier / tagger:
n_b; generator tokens: n_b + 1 (</s> appended); generator bernoulli: all T; seq2seq:
src m_b, tgt n_b + 1.
"""

CASES = [
    # classifier, tokens
    dict(kind="classifier", case="classifier_lstm_last", cell="lstm", input="tokens",
         vocab_size=10, embedding_size=5, hidden_size=7, num_layers=1, bidirectional=False,
         pool="last", num_classes=4, steps=8, lengths=[5, 8, 1, 6]),
    dict(kind="classifier", case="classifier_gru_last_bi", cell="gru", input="tokens",
         vocab_size=11, embedding_size=6, hidden_size=6, num_layers=1, bidirectional=True,
         pool="last", num_classes=3, steps=7, lengths=[4, 7, 2, 5, 3]),
    dict(kind="classifier", case="classifier_lstm_mean_bi_l2", cell="lstm", input="tokens",
         vocab_size=12, embedding_size=4, hidden_size=5, num_layers=2, bidirectional=True,
         pool="mean", num_classes=5, steps=9, lengths=[6, 3, 7, 2]),
    dict(kind="classifier", case="classifier_rnn_tanh_max", cell="rnn_tanh", input="tokens",
         vocab_size=9, embedding_size=5, hidden_size=8, num_layers=1, bidirectional=False,
         pool="max", num_classes=4, steps=6, lengths=[6, 1, 4]),
    # classifier, float vectors
    dict(kind="classifier", case="classifier_lstm_last_float", cell="lstm", input="float",
         input_size=4, hidden_size=6, num_layers=1, bidirectional=False,
         pool="last", num_classes=3, steps=8, lengths=[3, 8, 5, 6]),
    dict(kind="classifier", case="classifier_gru_max_bi_float", cell="gru", input="float",
         input_size=5, hidden_size=5, num_layers=2, bidirectional=True,
         pool="max", num_classes=4, steps=7, lengths=[2, 6, 4, 1, 5]),
    # tagger
    dict(kind="tagger", case="tagger_lstm_bi", cell="lstm",
         vocab_size=10, embedding_size=5, hidden_size=6, num_layers=1, bidirectional=True,
         num_classes=5, steps=8, lengths=[8, 3, 6, 1]),
    dict(kind="tagger", case="tagger_gru_l2", cell="gru",
         vocab_size=12, embedding_size=6, hidden_size=7, num_layers=2, bidirectional=False,
         num_classes=4, steps=9, lengths=[5, 8, 2, 7, 4]),
    # generator, tokens (lengths = n_b + 1; 1 = the empty sequence, <s> -> </s>)
    dict(kind="generator", case="generator_lstm_tokens_l2", cell="lstm", output="tokens",
         vocab_size=10, embedding_size=5, hidden_size=6, num_layers=2, cond_size=3,
         steps=8, lengths=[5, 7, 1, 4]),
    dict(kind="generator", case="generator_gru_tokens", cell="gru", output="tokens",
         vocab_size=12, embedding_size=4, hidden_size=8, num_layers=1, cond_size=4,
         steps=8, lengths=[6, 3, 8, 4, 5]),
    # generator, bernoulli rows (uniform length T)
    dict(kind="generator", case="generator_lstm_bernoulli", cell="lstm", output="bernoulli",
         input_size=6, hidden_size=7, num_layers=1, cond_size=3, steps=6, lengths=[6, 6, 6]),
    dict(kind="generator", case="generator_gru_bernoulli_l2", cell="gru", output="bernoulli",
         input_size=5, hidden_size=6, num_layers=2, cond_size=4, steps=7, lengths=[7, 7, 7, 7]),
    # seq2seq
    dict(kind="seq2seq", case="seq2seq_lstm_none", cell="lstm", attention="none",
         src_vocab_size=10, tgt_vocab_size=9, embedding_size=5, hidden_size=6, num_layers=1,
         bidirectional=False, src_steps=7, tgt_steps=6,
         src_lengths=[5, 7, 2, 4], tgt_lengths=[3, 6, 1, 5]),
    dict(kind="seq2seq", case="seq2seq_gru_luong_l2", cell="gru", attention="luong",
         src_vocab_size=11, tgt_vocab_size=12, embedding_size=6, hidden_size=7, num_layers=2,
         bidirectional=False, src_steps=9, tgt_steps=8,
         src_lengths=[8, 3, 6, 1, 5], tgt_lengths=[4, 7, 2, 5, 3]),
    dict(kind="seq2seq", case="seq2seq_lstm_luong_bi", cell="lstm", attention="luong",
         src_vocab_size=12, tgt_vocab_size=10, embedding_size=4, hidden_size=5, num_layers=1,
         bidirectional=True, src_steps=9, tgt_steps=7,
         src_lengths=[6, 9, 3, 7], tgt_lengths=[5, 2, 7, 4]),
    dict(kind="seq2seq", case="seq2seq_gru_none_bi_l2", cell="gru", attention="none",
         src_vocab_size=9, tgt_vocab_size=11, embedding_size=5, hidden_size=6, num_layers=2,
         bidirectional=True, src_steps=7, tgt_steps=8,
         src_lengths=[4, 6, 2, 5, 3], tgt_lengths=[6, 3, 7, 1, 5]),
    # additive attention: at this initialisation W_q s_t shifts every score of step t
    # almost alike, which the softmax cancels, so grad.attention.query.weight is of
    # second order (1e-6 .. 1e-5, the other gradients 1e-4 .. 1e-1) and float32 gets it
    # to only 1e-6 .. 1e-4 relative (cancellation); these sizes and lengths were picked
    # among random ones as the best conditioned (1.5e-6 and 1.1e-6 from float64).
    dict(kind="seq2seq", case="seq2seq_lstm_additive_bi", cell="lstm", attention="additive",
         src_vocab_size=11, tgt_vocab_size=12, embedding_size=6, hidden_size=7, num_layers=1,
         bidirectional=True, src_steps=8, tgt_steps=7,
         src_lengths=[5, 8, 6, 7, 2], tgt_lengths=[1, 7, 3, 4, 5]),
    dict(kind="seq2seq", case="seq2seq_gru_additive_l2", cell="gru", attention="additive",
         src_vocab_size=12, tgt_vocab_size=10, embedding_size=6, hidden_size=6, num_layers=2,
         bidirectional=False, src_steps=9, tgt_steps=8,
         src_lengths=[6, 9, 2, 1, 8], tgt_lengths=[8, 7, 1, 3, 2]),
]
