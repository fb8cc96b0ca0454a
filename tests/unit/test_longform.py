import itertools

import numpy as np

from models.longform import pieces, quietest_cut

RATE = 16000


def _speechy(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.3, int(seconds * RATE)).astype(np.float32)


def test_cut_lands_in_the_quiet_gap():
    audio = np.concatenate([_speechy(5), np.zeros(RATE // 2, np.float32), _speechy(5, 1)])
    cut = quietest_cut(audio, 3 * RATE, 8 * RATE)
    assert 5 * RATE <= cut <= 5.5 * RATE


def test_pieces_cover_the_stream_in_order_without_loss():
    blocks = [_speechy(7, i) for i in range(20)]  # 140 s, in 7 s blocks
    total = np.concatenate(blocks)
    out = list(pieces(iter(blocks), piece_seconds=30, search_seconds=5))
    assert len(out) >= 4
    offsets = [offset for offset, _ in out]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert np.array_equal(np.concatenate([p for _, p in out]), total)
    for (offset, piece), (next_offset, _) in itertools.pairwise(out):
        assert next_offset == offset + len(piece) / RATE
        assert 25 <= len(piece) / RATE <= 35  # memory: one piece, never the whole stream


def test_short_audio_is_one_piece():
    audio = _speechy(3)
    assert [(o, len(p)) for o, p in pieces([audio], piece_seconds=300)] == [(0.0, len(audio))]


def test_the_first_piece_is_shorter_so_words_stream_early():
    blocks = [_speechy(7, i) for i in range(40)]  # 280 s
    out = list(pieces(iter(blocks), piece_seconds=100, search_seconds=5, first_seconds=20))
    lengths = [len(p) / RATE for _, p in out]
    assert 15 <= lengths[0] <= 25
    assert all(95 <= length <= 105 for length in lengths[1:-1])
    assert np.array_equal(np.concatenate([p for _, p in out]), np.concatenate(blocks))
