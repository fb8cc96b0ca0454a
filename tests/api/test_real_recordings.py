"""Issue 11: transcripts you can trust on real recordings, through the official OpenAI SDK.

Real human speech (pyannote.audio's telephone sample with its RTTM; LibriVox utterances and a
meeting-room recording from pocketsphinx's test data), variants of it (20 s of leading silence, a
20 s quiet gap, a mid-word cut) and non-speech (digital silence, +-1-sample dither, white and brown
noise, chords), in every response format, in a stream, and through `gpt-4o-transcribe-diarize`.

What must hold (the issue's targets): segments start where speech starts (>= 6.2 s on the sample),
>= 90% of segment time lies in labelled speech (0.5 s collar), nothing ends past the audio, no
sentence comes back twice, non-speech gives `text == ""` and no segments or words, and diarized
segments scored as speaker turns reach DER <= 15% on the sample.

`verbose_json` is asked with its default (segment) granularity, as a client that wants segments
does; word timestamps are asked separately ("verbose_json+words"). Each (recording, model, format)
is requested once per module; the checks read the cached answer.
`tiny.en` covers the wide matrix, `base`/`whisper-1` the key checks.
"""

from __future__ import annotations

import itertools
import statistics

import pytest

from samples import realaudio as ra
from samples import speech

DIARIZE = "gpt-4o-transcribe-diarize"
KEY_MODELS = ["whisper-1", "base", "tiny.en"]
SPEECH_DURATION_SLACK = 0.01  # rounding of the wire's times


@pytest.fixture(scope="module")
def recordings() -> dict[str, ra.Recording]:
    """Every recording of this module by name, built once."""
    recs = [*ra.sample_variants(), *ra.non_speech(), ra.librivox_track(), ra.chan3()]
    recs += [ra.librivox(u) for u in ra.LIBRIVOX_IDS]
    return {r.name: r for r in recs}


@pytest.fixture(scope="module")
def ask(client, recordings):
    """ask(recording name, model, format) -> Answer, each asked once per module."""
    cache: dict[tuple[str, str, str], ra.Answer] = {}

    def get(name: str, model: str, fmt: str) -> ra.Answer:
        key = (name, model, fmt)
        if key not in cache:
            cache[key] = ra.transcribe(client, recordings[name], model, fmt)
        return cache[key]

    return get


SAMPLE, LEAD, GAP, CUT = (r.name for r in ra.sample_variants())
NON_SPEECH = [r.name for r in ra.non_speech()]
SEGMENT_CASES = [(SAMPLE, m) for m in KEY_MODELS] + [(v, m) for v in (LEAD, GAP, CUT) for m in ("base", "tiny.en")]
SUBTITLE_CASES = [(v, "tiny.en") for v in (SAMPLE, LEAD, GAP, CUT)] + [(SAMPLE, "base"), (CUT, "base")]
TEXT_CASES = [(v, "tiny.en", f) for v in (SAMPLE, LEAD, GAP, CUT) for f in ("json", "text", "stream")]
TEXT_CASES += [(SAMPLE, "whisper-1", "json"), (SAMPLE, "whisper-1", "stream")]


def _first_speech(rec: ra.Recording) -> float:
    return rec.speech[0][0]


# ---- pyannote's sample and its variants: segments (verbose_json) ---------------------------------


@pytest.mark.parametrize("name,model", SEGMENT_CASES)
def test_first_segment_starts_where_speech_starts(ask, recordings, name, model):
    rec, answer = recordings[name], ask(name, model, "verbose_json")
    assert answer.segments, answer.text
    # the sample's speech starts at 6.69 s: the issue asks for >= 6.2 s (a 0.49 s collar)
    assert answer.segments[0][0] >= _first_speech(rec) - (ra.SAMPLE_SPEECH_START - 6.2), answer.segments[:3]


@pytest.mark.parametrize("name,model", SEGMENT_CASES)
def test_segment_time_lies_in_speech(ask, recordings, name, model):
    rec, answer = recordings[name], ask(name, model, "verbose_json")
    share = ra.speech_share(answer.spans, rec.speech)
    outside = [s for s in answer.segments if ra.overlap((s[0], s[1]), ra.merge(
        (a - ra.COLLAR, b + ra.COLLAR) for a, b in rec.speech)) <= 0]
    assert share >= 0.9 and not outside, (round(share, 3), outside)


@pytest.mark.parametrize("name,model", SEGMENT_CASES)
def test_words_lie_in_speech(ask, recordings, name, model):
    rec, answer = recordings[name], ask(name, model, "verbose_json+words")
    assert answer.words, "words were asked for"
    spans = [(s, e) for _, s, e in answer.words]
    assert ra.speech_share(spans, rec.speech) >= 0.9, answer.words[:8]
    assert max(e for _, e in spans) <= rec.duration + SPEECH_DURATION_SLACK
    assert all(e > s for s, e in spans), [w for w in answer.words if w[2] <= w[1]]  # none without length
    overlapping = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1] - 0.001]
    assert not overlapping, overlapping  # in order: none starts before the one before ends


@pytest.mark.parametrize("name,model", SEGMENT_CASES)
def test_nothing_ends_past_the_audio(ask, recordings, name, model):
    rec, answer = recordings[name], ask(name, model, "verbose_json")
    assert answer.body["duration"] == pytest.approx(rec.duration, abs=0.05)
    late = [s for s in answer.segments if s[1] > rec.duration + SPEECH_DURATION_SLACK or s[0] >= s[1]]
    assert not late, (rec.duration, late)


@pytest.mark.parametrize("name,model", SEGMENT_CASES)
def test_no_sentence_repeated(ask, name, model):
    answer = ask(name, model, "verbose_json")
    assert ra.repeated_sentences(answer.text) == [], answer.text


@pytest.mark.parametrize("model", ["base", "tiny.en"])
@pytest.mark.parametrize("name", [LEAD, GAP])
def test_no_segment_inside_a_stretch_without_speech(ask, recordings, name, model):
    """20 s of digital silence before, or 20 s of -60 dBFS brown noise inside: no text there."""
    rec, answer = recordings[name], ask(name, model, "verbose_json")
    widened = ra.merge((a - ra.COLLAR, b + ra.COLLAR) for a, b in rec.speech)
    inside = [s for s in answer.segments if (s[1] - s[0]) - ra.overlap((s[0], s[1]), widened) > 1.0]
    assert not inside, inside


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
@pytest.mark.parametrize("name", [LEAD, GAP])
def test_silence_before_or_a_gap_loses_no_word(ask, recordings, name, model):
    """The sample's words, all of them, with 20 s of silence before it or a quiet gap inside it:
    a long stretch without speech must not make the voice-activity gate miss the next quiet words
    (it lost the first "Hello. Hello." after leading silence)."""
    rec, answer, alone = recordings[name], ask(name, model, "verbose_json"), ask(SAMPLE, model, "verbose_json")
    assert answer.segments[0][0] <= _first_speech(rec) + 0.5, answer.segments[:2]
    assert ra.wer(alone.text, answer.text) <= 0.1, (alone.text, answer.text)


# ---- the same in the other formats ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("name,model", SUBTITLE_CASES)
def test_subtitle_cues_follow_the_speech(ask, recordings, name, model, fmt):
    rec, answer = recordings[name], ask(name, model, fmt)
    assert answer.segments, answer.body
    problems = []
    if answer.segments[0][0] < _first_speech(rec) - (ra.SAMPLE_SPEECH_START - 6.2):
        problems.append(f"first cue at {answer.segments[0][0]}")
    if answer.segments[-1][1] > rec.duration + SPEECH_DURATION_SLACK:
        problems.append(f"last cue ends at {answer.segments[-1][1]} > {rec.duration:.2f}")
    share = ra.speech_share(answer.spans, rec.speech)
    if share < 0.9:
        problems.append(f"{share:.0%} of cue time in speech")
    if ra.repeated_sentences(answer.text):
        problems.append(f"repeated: {ra.repeated_sentences(answer.text)}")
    assert not problems, problems


@pytest.mark.parametrize("name,model,fmt", TEXT_CASES)
def test_text_formats_say_it_once(ask, name, model, fmt):
    answer = ask(name, model, fmt)
    assert len(ra.normalise(answer.text)) >= 40, answer.text  # about 70 words are spoken
    assert ra.repeated_sentences(answer.text) == [], answer.text


# ---- non-speech: nothing, in every format ---------------------------------------------------------


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
@pytest.mark.parametrize("name", NON_SPEECH)
def test_non_speech_verbose_json_is_empty(ask, name, model):
    answer = ask(name, model, "verbose_json+words")
    assert (answer.text, answer.body.get("segments"), answer.body.get("words")) == ("", [], []), answer.body


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
@pytest.mark.parametrize("name", NON_SPEECH)
def test_non_speech_stream_is_empty(ask, name, model):
    events = ask(name, model, "stream").body
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert events[-1].text == "" and "".join(deltas).strip() == "", (deltas, events[-1].text)


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt"])
@pytest.mark.parametrize("name", NON_SPEECH)
def test_non_speech_other_formats_are_empty(ask, name, fmt):
    model = "whisper-1" if fmt == "srt" else "tiny.en"
    answer = ask(name, model, fmt)
    if fmt == "vtt":
        assert answer.body.strip() == "WEBVTT", answer.body
    elif fmt in ("text", "srt"):
        assert answer.body.strip() == "", answer.body
    else:
        assert answer.text == "", answer.body


# ---- gpt-4o-transcribe-diarize --------------------------------------------------------------------


def test_diarized_sample_scores_as_speaker_turns(ask):
    """Issue 11's target. Today 14.9%: near the line, and the engine is sensitive to inaudible changes
    (the same sample written again as 16-bit WAV: 15.3%; with white noise at -80 dBFS: 16.4-16.5%);
    what is left is overlapped speech (8.4% of the sample's speech, which segments of one speaker
    each cannot cover), the second speaker's short turn inside the first's, and the first "Hello"."""
    answer = ask(SAMPLE, DIARIZE, "diarized_json")
    turns = [(s, e, who) for (s, e, _), who in zip(answer.segments, answer.speakers, strict=True)]
    reference = speech.read_rttm(speech.PYANNOTE_SAMPLE_RTTM)
    score = speech.der(reference, turns)
    assert score <= 0.15, f"segment DER {score:.1%}"


@pytest.mark.parametrize("name", [SAMPLE, CUT])
def test_diarized_segments_in_speech_and_in_the_audio(ask, recordings, name):
    rec, answer = recordings[name], ask(name, DIARIZE, "diarized_json")
    assert answer.segments and answer.segments[0][0] >= _first_speech(rec) - (ra.SAMPLE_SPEECH_START - 6.2)
    assert ra.speech_share(answer.spans, rec.speech) >= 0.9
    assert answer.segments[-1][1] <= rec.duration + SPEECH_DURATION_SLACK
    assert ra.repeated_sentences(answer.text) == [], answer.text


@pytest.mark.parametrize("name", NON_SPEECH)
def test_diarized_non_speech_is_empty(ask, name):
    answer = ask(name, DIARIZE, "diarized_json")
    assert (answer.text, answer.segments) == ("", []), answer.body


# ---- LibriVox (pocketsphinx test data): known words, known times ----------------------------------


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
def test_librivox_utterances_word_error_rate(ask, recordings, model):
    """The five utterances one request each; faster-whisper alone: base 1.4%, tiny.en 4.2%."""
    refs = [recordings[u[-4:]].text for u in ra.LIBRIVOX_IDS]
    hyps = [ask(u[-4:], model, "json").text for u in ra.LIBRIVOX_IDS]
    assert ra.wer(" ".join(refs), " ".join(hyps)) <= 0.08, list(zip(refs, hyps, strict=True))


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
def test_librivox_track_text_and_times(ask, recordings, model):
    """The five utterances in one file (24.7 s): the words, where they are, said once."""
    rec = recordings["librivox"]
    answer = ask("librivox", model, "verbose_json")
    problems = []
    if ra.wer(rec.text, answer.text) > 0.08:
        problems.append(f"WER {ra.wer(rec.text, answer.text):.1%}")
    if ra.speech_share(answer.spans, rec.speech) < 0.9:
        problems.append(f"{ra.speech_share(answer.spans, rec.speech):.0%} of segment time in speech")
    if answer.segments and answer.segments[-1][1] > rec.duration + SPEECH_DURATION_SLACK:
        problems.append(f"ends at {answer.segments[-1][1]} > {rec.duration:.2f}")
    if ra.repeated_sentences(answer.text):
        problems.append(f"repeated {ra.repeated_sentences(answer.text)}")
    assert not problems, (problems, answer.text)


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
def test_librivox_word_times_match_the_alignment(ask, recordings, model):
    """Returned word starts against pocketsphinx's forced alignment of the reference text."""
    rec = recordings["librivox"]
    answer = ask("librivox", model, "verbose_json+words")
    errors = ra.word_start_errors(rec.words, answer.words)
    assert len(errors) >= 0.8 * len(rec.words), f"{len(errors)} of {len(rec.words)} words matched"
    assert statistics.median(errors) <= 0.25, f"median start error {statistics.median(errors):.2f} s"
    assert sum(e > 1.0 for e in errors) <= 0.05 * len(errors), sorted(errors)[-5:]


# ---- chan3: a meeting-room recording that ends in speech -----------------------------------------


@pytest.mark.parametrize("model", ["whisper-1", "tiny.en"])
def test_meeting_recording(ask, recordings, model):
    rec = recordings["chan3"]
    answer = ask("chan3", model, "verbose_json")
    assert len(ra.normalise(answer.text)) >= 15, answer.text
    assert ra.speech_share(answer.spans, rec.speech) >= 0.9, answer.segments
    assert answer.segments[-1][1] <= rec.duration + SPEECH_DURATION_SLACK, answer.segments[-1]
    assert ra.repeated_sentences(answer.text) == [], answer.text
