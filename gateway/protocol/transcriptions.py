"""Wire schemas of /v1/audio/transcriptions and /v1/audio/translations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.languages import normalize_language, whisper_code
from gateway.protocol.types import Integer, Number
from models.errors import InvalidRequest
from models.keywords import MAX_KEYWORD_CHARS, MAX_KEYWORD_TOKENS, MAX_KEYWORDS, check_keyword_list
from models.options import TranscribeOptions, VadParameters

TranscriptionFormat = Literal["json", "text", "srt", "vtt", "verbose_json", "diarized_json"]
TranslationFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
DIARIZING_FORMATS = ("diarized_json", "json", "text", "srt", "vtt")
"""What a diarizing model answers in: srt and vtt cues carry the speaker; verbose_json is refused."""
MAX_KNOWN_SPEAKERS = 4


class ServerVad(BaseModel):
    """Cut the audio at silences found by voice-activity detection before decoding."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["server_vad"]
    prefix_padding_ms: Integer = Field(300, ge=0, le=10_000, description="Audio kept before detected speech.")
    silence_duration_ms: Integer = Field(200, ge=0, le=10_000, description="Silence that ends a chunk.")
    threshold: Number = Field(0.5, gt=0.0, lt=1.0, description="Speech probability threshold.")

    def parameters(self) -> VadParameters:
        return VadParameters(
            threshold=self.threshold,
            prefix_padding_ms=self.prefix_padding_ms,
            silence_duration_ms=self.silence_duration_ms,
        )


AUTO_VAD = VadParameters(threshold=0.5, prefix_padding_ms=400, silence_duration_ms=1000)
"""What `chunking_strategy=auto` means here: Silero VAD with roomy padding."""


class _AudioRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="A served model id or alias, e.g. `whisper-1`.", examples=["whisper-1"])
    prompt: str | None = Field(None, description="Text to guide style or continue a previous segment.")
    temperature: Number = Field(0.0, ge=0.0, le=1.0, description="0 uses Whisper's temperature fallback.")

    def vad(self) -> VadParameters | None:
        """The speech windows asked for by `chunking_strategy` (None: the audio as one block)."""
        return None

    @property
    def streamed(self) -> bool:
        """Server-sent events as text is decoded (transcriptions only)."""
        return False

    @property
    def logprobs(self) -> bool:
        """Token log probabilities asked for with `include[]=logprobs` (transcriptions only)."""
        return False

    @property
    def words(self) -> bool:
        """Word timestamps asked for in `verbose_json` (transcriptions only)."""
        return False

    @property
    def segments(self) -> bool:
        """Segments in `verbose_json` (always, unless only word timestamps were asked for)."""
        return True

    @property
    def reports_languages(self) -> bool:
        """Whether the answer lists the detected languages (translations detect nothing to report)."""
        return False


class TranscriptionRequest(_AudioRequest):
    """Form fields of a transcription request (the `file` part is separate)."""

    response_format: TranscriptionFormat = "json"
    language: str | None = Field(None, description="ISO-639-1 code of the spoken language.")
    timestamp_granularities: list[Literal["word", "segment"]] = Field(
        default_factory=list, description="With `verbose_json`: `word` and/or `segment` (default)."
    )
    include: list[Literal["logprobs"]] = Field(default_factory=list, description="`logprobs` (with `json`).")
    stream: bool = Field(False, description="Send server-sent events as text is decoded.")
    chunking_strategy: Literal["auto"] | ServerVad | None = Field(
        None, description="`auto` or a `server_vad` object; unset decodes the audio as one block."
    )
    known_speaker_names: list[str] = Field(
        default_factory=list,
        description="With a diarizing model: up to 4 names; segments of these speakers carry them.",
    )
    known_speaker_references: list[str] = Field(
        default_factory=list,
        description="Data URLs (`data:audio/wav;base64,...`, any supported container) of 2-10 s clips, "
        "one per name, in the order of `known_speaker_names`.",
    )
    keywords: list[str] = Field(
        default_factory=list,
        description=f"Words or phrases to spell right (names, product words): Whisper's hotwords, for every "
        f"window. At most {MAX_KEYWORDS}, each at most {MAX_KEYWORD_CHARS} characters, together at most "
        f"{MAX_KEYWORD_TOKENS} Whisper tokens.",
    )
    languages: list[str] = Field(
        default_factory=list,
        description="ISO-639-1 codes of the possible languages: detection chooses among them. The response's "
        "`languages` lists the language when it was reliably detected.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TranscriptionRequest:
        if self.language is not None:
            code = normalize_language(self.language)
            if code is None:
                raise InvalidRequest(
                    f"Unsupported language: `{self.language}`.", param="language", code="invalid_value"
                )
            self.language = code
        self.keywords = list(check_keyword_list(self.keywords))
        self.languages = _language_codes(self.languages)
        if self.timestamp_granularities and self.response_format != "verbose_json":
            raise InvalidRequest(
                "`timestamp_granularities[]` is only supported with `response_format` `verbose_json`.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        if self.include and self.response_format != "json":
            raise InvalidRequest(
                "`include[]=logprobs` is only supported with `response_format` `json`.",
                param="include",
                code="invalid_value",
            )
        return self

    def _check_known_speakers(self) -> None:
        """Known speakers, checked once the model is known to diarize (any other model refuses them)."""
        names, references = self.known_speaker_names, self.known_speaker_references
        if len(names) > MAX_KNOWN_SPEAKERS:
            raise InvalidRequest(
                f"At most {MAX_KNOWN_SPEAKERS} `known_speaker_names[]` are supported ({len(names)} given).",
                param="known_speaker_names",
                code="invalid_value",
            )
        if len(references) > MAX_KNOWN_SPEAKERS:
            raise InvalidRequest(
                f"At most {MAX_KNOWN_SPEAKERS} `known_speaker_references[]` are supported ({len(references)} given).",
                param="known_speaker_references",
                code="invalid_value",
            )
        if len(names) != len(references):
            raise InvalidRequest(
                f"`known_speaker_references[]` needs one reference per name in `known_speaker_names[]` "
                f"({len(references)} references for {len(names)} names).",
                param="known_speaker_references",
                code="invalid_value",
            )
        for index, name in enumerate(names):
            if not name.strip():
                raise InvalidRequest(
                    f"`known_speaker_names[{index}]` is empty.", param="known_speaker_names", code="invalid_value"
                )
            if name in names[:index]:
                raise InvalidRequest(
                    f"`known_speaker_names[]` names `{name}` twice.", param="known_speaker_names", code="invalid_value"
                )

    def check_diarizing(self) -> None:
        """What a diarizing model refuses, as OpenAI's `gpt-4o-transcribe-diarize` does."""
        if self.prompt is not None:
            raise InvalidRequest(
                f"`prompt` is not supported with the diarizing model `{self.model}`.",
                param="prompt",
                code="invalid_value",
            )
        if self.include:
            raise InvalidRequest(
                f"`include[]=logprobs` is not supported with the diarizing model `{self.model}`.",
                param="include",
                code="invalid_value",
            )
        if self.timestamp_granularities:
            raise InvalidRequest(
                f"`timestamp_granularities[]` is not supported with the diarizing model `{self.model}`.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        if self.response_format not in DIARIZING_FORMATS:
            raise InvalidRequest(
                f"`response_format` `{self.response_format}` is not supported with the diarizing model "
                f"`{self.model}`; use one of {', '.join(DIARIZING_FORMATS)} (`diarized_json` has the speakers).",
                param="response_format",
                code="unsupported_value",
            )
        self._check_known_speakers()

    def check_not_diarizing(self) -> None:
        """What only a diarizing model accepts."""
        if self.response_format == "diarized_json":
            raise InvalidRequest(
                f"`response_format` `diarized_json` needs a diarizing model such as `gpt-4o-transcribe-diarize`; "
                f"`{self.model}` does not diarize.",
                param="response_format",
                code="unsupported_value",
            )
        for param in ("known_speaker_names", "known_speaker_references"):
            if getattr(self, param):
                raise InvalidRequest(
                    f"`{param}[]` needs a diarizing model such as `gpt-4o-transcribe-diarize`; "
                    f"`{self.model}` does not diarize (only a diarizing model takes known speakers).",
                    param=param,
                    code="unsupported_value",
                )

    def check_duration(self, seconds: float, chunking_above_s: float) -> None:
        """Long audio needs `chunking_strategy` with a diarizing model (0: no limit)."""
        if chunking_above_s and self.chunking_strategy is None and seconds > chunking_above_s:
            raise InvalidRequest(
                f"`chunking_strategy` is required for audio longer than {chunking_above_s:g} seconds with the "
                f"diarizing model `{self.model}` (this audio is {seconds:.1f} s); send `chunking_strategy=auto`.",
                param="chunking_strategy",
                code="missing_required_parameter",
            )

    def transcribe_options(self, beam_size: int) -> TranscribeOptions:
        """What Whisper is asked to do (a diarizing model has refused prompt, include and granularities)."""
        return TranscribeOptions(
            task="transcribe",
            language=whisper_code(self.language) if self.language else None,
            prompt=self.prompt,
            temperature=self.temperature,
            word_timestamps=self.words,
            logprobs=self.logprobs,
            vad=self.vad(),
            beam_size=beam_size,
            keywords=tuple(self.keywords),
            languages=tuple(whisper_code(code) for code in self.languages),
        )

    @property
    def streamed(self) -> bool:
        return self.stream

    @property
    def logprobs(self) -> bool:
        return "logprobs" in self.include

    @property
    def words(self) -> bool:
        return "word" in self.timestamp_granularities

    @property
    def segments(self) -> bool:
        return not self.timestamp_granularities or "segment" in self.timestamp_granularities

    @property
    def reports_languages(self) -> bool:
        return True

    def vad(self) -> VadParameters | None:
        if self.chunking_strategy == "auto":
            return AUTO_VAD
        if isinstance(self.chunking_strategy, ServerVad):
            return self.chunking_strategy.parameters()
        return None


def _language_codes(values: list[str]) -> list[str]:
    """`languages[]` as Whisper's ISO-639-1 codes, each once; 400 naming `languages` for an unknown one."""
    codes: list[str] = []
    for index, value in enumerate(values):
        code = normalize_language(value)
        if code is None:
            raise InvalidRequest(
                f"Unsupported language in `languages[{index}]`: `{value}` (use ISO-639-1 codes such as `en`).",
                param="languages",
                code="invalid_value",
            )
        if code not in codes:
            codes.append(code)
    return codes


REALTIME_ONLY_MODELS = ("gpt-live-transcribe", "gpt-realtime-whisper")
"""Speech-to-text ids the SDKs list that exist only for Realtime transcription sessions."""


def check_file_model(model: str) -> None:
    """A clear 400 for a Realtime-only transcription model sent to a file endpoint."""
    if model in REALTIME_ONLY_MODELS:
        raise InvalidRequest(
            f"The model `{model}` is a Realtime transcription model: it transcribes live sessions, not files. "
            "For a file use `gpt-transcribe`, `whisper-1` or another served transcription model.",
            param="model",
            code="unsupported_value",
        )


class TranslationRequest(_AudioRequest):
    """Form fields of a translation request: the speech comes back as English text."""

    response_format: TranslationFormat = "json"

    def transcribe_options(self, beam_size: int) -> TranscribeOptions:
        """Whisper's translate task: any spoken language into English text."""
        return TranscribeOptions(
            task="translate", prompt=self.prompt, temperature=self.temperature, beam_size=beam_size
        )


AudioRequest = TranscriptionRequest | TranslationRequest
"""A request either audio endpoint parses: what the serving side and the renderers take."""
