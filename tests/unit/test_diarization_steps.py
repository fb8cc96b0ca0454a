"""The model-free steps of diarization: clustering helpers, smoothing, naming, word alignment."""

from __future__ import annotations

import numpy as np

from models.diarization import clustering
from models.diarization.align import diarize_transcript, speaker_at
from models.diarization.base import label_in_order
from models.types import Segment, SpeakerTurn, Transcript, Word


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_viterbi_ignores_a_blip_but_follows_a_real_change():
    scores = np.array([[1, 0]] * 5 + [[0, 1]] + [[1, 0]] * 5 + [[0, 1]] * 6, dtype=float)
    path = clustering.viterbi(scores, switch_penalty=1.5)
    assert path.tolist() == [0] * 11 + [1] * 6


def test_viterbi_switches_cheaply_at_a_pause():
    scores = np.array([[1, 0]] * 4 + [[0, 1]] + [[1, 0]] * 4, dtype=float)
    penalties = np.full(9, 5.0)
    penalties[4] = penalties[5] = 0.1
    assert clustering.viterbi(scores, penalties)[4] == 1


def test_spectral_clusters_find_three_groups():
    rng = np.random.default_rng(0)
    centres = unit_rows(rng.normal(size=(3, 32)))
    vectors = unit_rows(np.repeat(centres, 20, axis=0) + rng.normal(scale=0.15, size=(60, 32)))
    result = clustering.spectral_clusters(clustering.cosine_matrix(vectors), max_k=6)
    assert result.k == 3
    assert len({tuple(result.labels[i * 20 : (i + 1) * 20]) for i in range(3)}) == 3


def test_transitional_clusters_are_the_bridges():
    labels = np.array([0] * 6 + [2] + [1] * 6 + [2, 2] + [0] * 6 + [2] + [1] * 5)
    assert clustering.transitional_clusters(labels, max_run=3) == {2}
    # a speaker with long turns between the others is not a bridge
    labels = np.array([0] * 6 + [2] * 6 + [1] * 6 + [2] * 6 + [0] * 6)
    assert clustering.transitional_clusters(labels, max_run=3) == set()


def test_merge_close_joins_one_voice_split_in_two():
    rng = np.random.default_rng(1)
    voice = unit_rows(rng.normal(size=(1, 16)))
    vectors = unit_rows(np.repeat(voice, 10, axis=0) + rng.normal(scale=0.05, size=(10, 16)))
    labels = np.array([0] * 5 + [1] * 5)
    assert set(clustering.merge_close(vectors, labels, 0.9).tolist()) == {0}


def test_match_known_is_one_to_one_and_thresholded():
    clusters = np.eye(3, dtype=np.float32)
    known = unit_rows(np.array([[0.9, 0.1, 0], [0.95, 0.05, 0], [0, 0, 1.0]], dtype=np.float32))
    match = clustering.match_known(clusters, known, threshold=0.8)
    assert match[2] == 2
    assert match[0] in (0, 1)
    assert 1 not in match  # the second reference like cluster 0 gets nobody: one name per cluster


def test_label_in_order_names_unknowns_by_first_appearance():
    turns = label_in_order([(5, 6, "c7"), (0, 1, "c3"), (2, 3, "joe"), (4, 5, "c3")], {"joe"})
    assert [t.speaker for t in turns] == ["A", "joe", "A", "B"]


def test_a_letter_that_is_a_known_name_is_skipped():
    turns = label_in_order([(0, 1, "c3"), (2, 3, "A"), (4, 5, "c7")], {"A"})
    assert [t.speaker for t in turns] == ["B", "A", "C"]


def _word(text: str, start: float, end: float) -> Word:
    return Word(word=text, start=start, end=end, probability=1.0)


def test_words_go_to_the_speaker_talking_and_segments_split_at_changes():
    turns = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.1, 4.0, "joe")]
    words = (_word(" Hello", 0.1, 0.5), _word(" there.", 0.6, 1.9), _word(" Hi", 2.2, 2.5), _word(" Ann.", 2.6, 3.0))
    segment = Segment(0, 0, 0.1, 3.0, " Hello there. Hi Ann.", (1, 2, 3), 0.0, -0.1, 1.0, 0.01, words=words)
    transcript = diarize_transcript(Transcript("transcribe", "en", 4.0, (segment,)), turns)
    assert [(s.id, s.speaker, s.text) for s in transcript.segments] == [
        (0, "A", " Hello there."),
        (1, "joe", " Hi Ann."),
    ]
    assert transcript.segments[1].start == 2.2
    assert all(w.speaker == "joe" for w in transcript.segments[1].words)


def test_a_word_in_a_gap_goes_to_the_nearest_turn():
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(3.0, 4.0, "B")]
    assert speaker_at(2.6, 2.8, turns) == "B"
    assert speaker_at(1.1, 1.2, turns) == "A"
