"""Pupil photos: checked, re-encoded, stored sealed.

An upload is trusted for nothing: its type is sniffed by Pillow (not taken
from the name or the browser), its size and pixel count are capped before
decoding (a decompression bomb is refused, not decoded), and what is stored
is a fresh JPEG drawn from the pixels alone, so no EXIF (GPS, device) or
embedded payload survives. A photo is a minor's biometric-adjacent data:
it is sealed at rest like the ID number, and for pupils under 14 a
guardian's consent is recorded with it (PIPL Art. 31).
"""
import io

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000
BOX = (600, 800)  # a registry photo needs no more
FORMATS = ("JPEG", "PNG")
CONSENT_AGE = 14


class PhotoError(ValueError):
    """``args[0]`` is a reason key: too-large, not-an-image, too-many-pixels."""


def prepare(data):
    """Return the JPEG to store for the uploaded ``data``, or raise PhotoError."""
    if len(data) > MAX_BYTES:
        raise PhotoError("too-large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in FORMATS:
                raise PhotoError("not-an-image")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise PhotoError("too-many-pixels")
            probe.draft("RGB", BOX)  # JPEG: decode at a reduced scale when it can
            image = probe.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PhotoError("not-an-image") from exc
    image.thumbnail(BOX)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def age_on(born, day):
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def needs_consent(student, today):
    return student.birth_date is not None and age_on(student.birth_date, today) < CONSENT_AGE
