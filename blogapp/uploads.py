"""Uploaded images (covers, images in posts, avatars): only real images, decoded and
re-encoded without metadata, in display sizes and in modern formats.

A stored name looks like ``<32 hex>_<width>[-<formats>].<ext>``: the random part keeps names
unguessable, the width says which smaller copies (``<32 hex>_800.<ext>``, ...) exist for
``srcset``, and the formats say which modern copies were written beside the original
(``a``: ``<32 hex>_<w>.avif``, ``w``: ``<32 hex>_<w>.webp``, for every width), so pages
know what exists from the name alone, with no look at the disk. Names from before the
formats part simply have none: their pages offer the original only.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError, features

# Formats a browser shows, as Pillow names them, with the format and extension we write.
ACCEPTED = {
    "JPEG": ("JPEG", "jpg"),
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
    "GIF": ("PNG", "png"),
}
PUBLIC_PATH = "/uploads/"  # where posts.upload serves stored names (a test keeps them equal)
DISPLAY_WIDTHS = (800, 1600)
LARGEST_WIDTH = 2400  # wider originals are scaled down: nobody's screen needs more for a cover
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000; anything larger is refused before decoding
NAME = re.compile(
    r"^(?P<token>[0-9a-f]{32})_(?P<width>[0-9]{1,5})(?:-(?P<formats>a?w?))?"
    r"\.(?P<ext>jpg|png|webp)$"
)
# Modern copies, best first (as <picture> lists them): flag, Pillow format, extension, type,
# options. AVIF only where this Pillow was built with it (PIL.features); speed 8 keeps an
# upload to about a second a size on a small server, for a few percent of size.
MODERN = (
    ("a", "AVIF", "avif", "image/avif", {"quality": 60, "speed": 8}),
    ("w", "WEBP", "webp", "image/webp", {"quality": 80}),
)


def modern_formats() -> str:
    """The flags of the modern formats this Pillow can write ("aw", "w" or "")."""
    return "".join(flag for flag, fmt, *_ in MODERN if features.check(fmt.lower()))


@dataclass(frozen=True)
class StoredImage:
    name: str
    width: int
    height: int


class UploadError(ValueError):
    """An upload we refuse; the message is shown to the person beside the field."""


def save_image(stream: IO[bytes], upload_dir: str, max_bytes: int) -> str:
    """Check, re-encode and store an uploaded image; returns its stored name."""
    return store_image(stream, upload_dir, max_bytes).name


def store_image(
    stream: IO[bytes], upload_dir: str, max_bytes: int, *, square: int | None = None
) -> StoredImage:
    """save_image, also saying the stored size; square=N crops to an N x N centre (avatars)."""
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
    if square:
        size = min(square, image.width, image.height)
        image = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    token = secrets.token_hex(16)
    os.makedirs(upload_dir, exist_ok=True)
    # The original's own format needs no modern copy of the same kind.
    formats = "".join(f for f in modern_formats() if not (f == "w" and ext == "webp"))
    name = f"{token}_{image.width}{'-' + formats if formats else ''}.{ext}"
    sizes = [image] + [
        image.resize(
            (width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS
        )
        for width in DISPLAY_WIDTHS
        if width < image.width
    ]
    for sized in sizes:
        _write(sized, os.path.join(upload_dir, f"{token}_{sized.width}.{ext}"), out_format)
        for flag, fmt, modern_ext, _type, options in MODERN:
            if flag in formats:
                path = os.path.join(upload_dir, f"{token}_{sized.width}.{modern_ext}")
                _write(sized, path, fmt, options)
    # The largest file is written last under the name pages use: it exists only when all do.
    os.replace(
        os.path.join(upload_dir, f"{token}_{image.width}.{ext}"), os.path.join(upload_dir, name)
    )
    return StoredImage(name, image.width, image.height)


def is_stored_name(name: str) -> bool:
    """True for names save_image makes (e.g. carried in a form while its other fields are fixed)."""
    return bool(NAME.match(name or ""))


def dimensions(name: str | None, upload_dir: str) -> tuple[int, int] | None:
    """(width, height) of a stored image, for <img width height> (no layout shift); None
    for names we didn't make or files that are gone."""
    if not is_stored_name(name or ""):
        return None
    path = os.path.join(upload_dir, name)
    # A stored name is never rewritten (a new upload gets a new random name), so what its
    # header says can be remembered. Pillow reads the header here, not the pixels.
    found = _sizes.get(path)
    if found is None:
        try:
            with Image.open(path) as image:
                found = image.size
        except (OSError, UnidentifiedImageError):
            return None  # not remembered: the file may yet appear
        if len(_sizes) < 10_000:
            _sizes[path] = found
    return found


_sizes: dict[str, tuple[int, int]] = {}


def srcset(name: str | None, endpoint_url) -> str:
    """'url 800w, url 1600w, url 2400w' for a stored name; '' for names from elsewhere."""
    match = NAME.match(name or "")
    if not match:
        return ""
    return _srcset(match, match["ext"], endpoint_url)


def sources(name: str | None, endpoint_url) -> list[tuple[str, str]]:
    """(type, srcset) of each modern copy of a stored name, best first, for <picture>."""
    match = NAME.match(name or "")
    if not match:
        return []
    return [
        (mime, _srcset(match, ext, endpoint_url))
        for flag, _fmt, ext, mime, _options in MODERN
        if flag in (match["formats"] or "")
    ]


def _srcset(match: re.Match, ext: str, endpoint_url) -> str:
    token, width = match["token"], int(match["width"])
    widths = [w for w in DISPLAY_WIDTHS if w < width]
    files = [f"{token}_{w}.{ext}" for w in widths]
    # The largest original is the stored name itself; its modern copies are plain names.
    files.append(match.string if ext == match["ext"] else f"{token}_{width}.{ext}")
    pairs = zip(files, [*widths, width], strict=True)
    return ", ".join(f"{endpoint_url(file)} {w}w" for file, w in pairs)


def file_names(name: str | None) -> list[str]:
    """Every file a stored name stands for: itself, its smaller and its modern copies."""
    match = NAME.match(name or "")
    if not match:
        return []
    token, width = match["token"], int(match["width"])
    extensions = [match["ext"]] + [
        ext for flag, _fmt, ext, *_ in MODERN if flag in (match["formats"] or "")
    ]
    names = [name]
    for w in (*DISPLAY_WIDTHS, width):
        names += [f"{token}_{w}.{ext}" for ext in extensions if f"{token}_{w}.{ext}" != name]
    return names


def delete_image(name: str | None, upload_dir: str) -> None:
    """Remove a stored image and its smaller and modern copies (missing files are fine)."""
    for file in file_names(name):
        try:
            os.remove(os.path.join(upload_dir, file))
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


def _write(image: Image.Image, path: str, out_format: str, options: dict | None = None) -> None:
    # A fresh image holds pixels only: no EXIF, GPS, ICC or text chunks travel with it.
    mode = image.mode
    if out_format == "AVIF" and mode not in ("RGB", "RGBA"):
        mode = "RGBA" if "A" in mode else "RGB"  # AVIF takes colour only
    clean = Image.new(mode, image.size)
    clean.paste(image if image.mode == mode else image.convert(mode))
    if options is None:
        options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 85}}.get(
            out_format, {}
        )
    clean.save(path, out_format, **options)
