"""Cover images: only real images, decoded and re-encoded without metadata, in display sizes.

A stored name looks like ``<32 hex>_<width>.<ext>``: the random part keeps names unguessable
and the width says which smaller copies (``<32 hex>_800.<ext>``, ...) exist for ``srcset``.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

# Formats a browser shows, as Pillow names them, with the format and extension we write.
ACCEPTED = {
    "JPEG": ("JPEG", "jpg"),
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
    "GIF": ("PNG", "png"),
}
DISPLAY_WIDTHS = (800, 1600)
LARGEST_WIDTH = 2400  # wider originals are scaled down: nobody's screen needs more for a cover
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000; anything larger is refused before decoding
NAME = re.compile(r"^(?P<token>[0-9a-f]{32})_(?P<width>[0-9]{1,5})\.(?P<ext>jpg|png|webp)$")


class UploadError(ValueError):
    """An upload we refuse; the message is shown to the person beside the field."""


def save_image(stream: IO[bytes], upload_dir: str, max_bytes: int) -> str:
    """Check, re-encode and store an uploaded image; returns its stored name."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadError("The file is empty. Choose a JPEG, PNG, WebP or GIF image.")
    if len(data) > max_bytes:
        raise UploadError(
            f"The image is larger than {max_bytes // (1024 * 1024)} MB. Choose a smaller one."
        )
    image = _decode(data)
    out_format, ext = ACCEPTED[image.format or ""]
    image = _normalise(image, out_format)
    token = secrets.token_hex(16)
    os.makedirs(upload_dir, exist_ok=True)
    name = f"{token}_{image.width}.{ext}"
    _write(image, os.path.join(upload_dir, name), out_format)
    for width in DISPLAY_WIDTHS:
        if width < image.width:
            height = max(1, round(image.height * width / image.width))
            smaller = image.resize((width, height), Image.Resampling.LANCZOS)
            _write(smaller, os.path.join(upload_dir, f"{token}_{width}.{ext}"), out_format)
    return name


def is_stored_name(name: str) -> bool:
    """True for names save_image makes (e.g. carried in a form while its other fields are fixed)."""
    return bool(NAME.match(name or ""))


def srcset(name: str | None, endpoint_url) -> str:
    """'url 800w, url 1600w, url 2400w' for a stored name; '' for names from elsewhere."""
    match = NAME.match(name or "")
    if not match:
        return ""
    token, width, ext = match["token"], int(match["width"]), match["ext"]
    widths = [w for w in DISPLAY_WIDTHS if w < width] + [width]
    return ", ".join(f"{endpoint_url(f'{token}_{w}.{ext}')} {w}w" for w in widths)


def delete_image(name: str | None, upload_dir: str) -> None:
    """Remove a stored image and its smaller copies (missing files are fine)."""
    match = NAME.match(name or "")
    if not match:
        return
    for width in (*DISPLAY_WIDTHS, int(match["width"])):
        path = os.path.join(upload_dir, f"{match['token']}_{width}.{match['ext']}")
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _decode(data: bytes) -> Image.Image:
    refusal = "That file is not an image we accept. Choose a JPEG, PNG, WebP or GIF image."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))  # reads the header only
            if probe.format not in ACCEPTED:
                raise UploadError(refusal)
            if probe.width * probe.height > MAX_PIXELS or probe.width < 1 or probe.height < 1:
                raise UploadError("The image has too many pixels. Use one under 40 megapixels.")
            probe.verify()  # checks the file's structure and checksums
            image = Image.open(io.BytesIO(data))
            image.load()  # decodes every pixel: truncated or corrupt files fail here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("The image has too many pixels. Use one under 40 megapixels.") from None
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError(refusal) from None
    return image


def _normalise(image: Image.Image, out_format: str) -> Image.Image:
    """Upright (EXIF orientation applied), first frame only, in a mode the format can write."""
    source_format = image.format
    image = ImageOps.exif_transpose(image) or image
    image.format = source_format
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        image = image.copy()
    if out_format == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    if image.width > LARGEST_WIDTH:
        height = max(1, round(image.height * LARGEST_WIDTH / image.width))
        image = image.resize((LARGEST_WIDTH, height), Image.Resampling.LANCZOS)
    return image


def _write(image: Image.Image, path: str, out_format: str) -> None:
    # A fresh image holds pixels only: no EXIF, GPS, ICC or text chunks travel with it.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 85}}.get(
        out_format, {}
    )
    clean.save(path, out_format, **options)
