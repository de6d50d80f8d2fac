"""``torchvision.datasets.utils``: md5 checks, downloads (``urllib``) and archive extraction for datasets."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from typing import IO, Any

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "extract_archive",
           "download_and_extract_archive", "iterable_to_str", "verify_str_arg"]

USER_AGENT = "pytorch/vision"
PathLike = str | os.PathLike[str]


def calculate_md5(fpath: PathLike, chunk_size: int = 1024 * 1024) -> str:
    """Hex MD5 digest of a file, read in chunks (not for security: integrity only)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: PathLike, md5: str, **kwargs: Any) -> bool:
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: PathLike, md5: str | None = None) -> bool:
    """True when ``fpath`` is a file and, if ``md5`` is given, has that digest."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _urlretrieve(url: str, filename: PathLike, chunk_size: int = 1024 * 32) -> None:
    """Stream ``url`` into ``filename`` (redirects are followed by ``urlopen``)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": USER_AGENT})) as response:
        with open(filename, "wb") as fh:
            while chunk := response.read(chunk_size):
                fh.write(chunk)


def download_url(url: str, root: PathLike, filename: PathLike | None = None, md5: str | None = None) -> None:
    """Download ``url`` to ``root/filename`` (default: the URL's basename) unless a verified copy is there.

    An ``https`` URL that fails is retried over ``http``; a file whose md5 differs afterwards raises.
    """
    root = os.path.expanduser(root)
    fpath = os.fspath(os.path.join(root, filename or os.path.basename(url)))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    try:
        _urlretrieve(url, fpath)
    except (urllib.error.URLError, OSError):
        if not url.startswith("https"):
            raise
        _urlretrieve(url.replace("https:", "http:"), fpath)
    if not check_integrity(fpath, md5):
        raise RuntimeError("File not found or corrupted.")


def _extract_tar(from_path: PathLike, to_path: PathLike, compression: str | None) -> None:
    with tarfile.open(from_path, f"r:{compression[1:]}" if compression else "r") as tar:
        tar.extractall(to_path, filter="data")


def _extract_zip(from_path: PathLike, to_path: PathLike, compression: str | None) -> None:
    with zipfile.ZipFile(from_path, "r") as archive:
        archive.extractall(to_path)


_ARCHIVE_EXTRACTORS: dict[str, Callable[[PathLike, PathLike, str | None], None]] = {
    ".tar": _extract_tar, ".zip": _extract_zip}
_COMPRESSED_FILE_OPENERS: dict[str, Callable[..., IO[bytes]]] = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_FILE_TYPE_ALIASES: dict[str, tuple[str, str]] = {".tbz": (".tar", ".bz2"), ".tbz2": (".tar", ".bz2"),
                                                  ".tgz": (".tar", ".gz")}


def _detect_file_type(file: PathLike) -> tuple[str, str | None, str | None]:
    """(suffix, archive type, compression) of ``file`` from its name, e.g. ('.tar.gz', '.tar', '.gz')."""
    suffixes = pathlib.Path(file).suffixes
    if not suffixes:
        raise RuntimeError(
            f"File '{file}' has no suffixes that could be used to detect the archive type and compression.")
    suffix = suffixes[-1]
    if suffix in _FILE_TYPE_ALIASES:
        return (suffix, *_FILE_TYPE_ALIASES[suffix])
    if suffix in _ARCHIVE_EXTRACTORS:
        return suffix, suffix, None
    if suffix in _COMPRESSED_FILE_OPENERS:
        if len(suffixes) > 1 and suffixes[-2] in _ARCHIVE_EXTRACTORS:
            return suffixes[-2] + suffix, suffixes[-2], suffix
        return suffix, None, suffix
    valid = sorted(set(_FILE_TYPE_ALIASES) | set(_ARCHIVE_EXTRACTORS) | set(_COMPRESSED_FILE_OPENERS))
    raise RuntimeError(f"Unknown compression or archive type: '{suffix}'.\nKnown suffixes are: '{valid}'.")


def extract_archive(from_path: PathLike, to_path: PathLike | None = None,
                    remove_finished: bool = False) -> PathLike:
    """Extract a tar / zip archive, or decompress a lone .gz / .bz2 / .xz file, into ``to_path``.

    ``to_path`` defaults to the archive's folder; returns it (a decompressed file's path for lone files).
    """
    to_path = os.path.dirname(from_path) if to_path is None else to_path
    suffix, archive_type, compression = _detect_file_type(from_path)
    if archive_type is None:
        assert compression is not None
        out = pathlib.Path(to_path, os.path.basename(from_path).replace(suffix, ""))
        with _COMPRESSED_FILE_OPENERS[compression](from_path, "rb") as rfh, open(out, "wb") as wfh:
            wfh.write(rfh.read())
    else:
        _ARCHIVE_EXTRACTORS[archive_type](from_path, to_path, compression)
        out = pathlib.Path(to_path)
    if remove_finished:
        os.remove(from_path)
    return os.fspath(out) if isinstance(from_path, str) else out


def download_and_extract_archive(url: str, download_root: PathLike, extract_root: PathLike | None = None,
                                 filename: PathLike | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """:func:`download_url` into ``download_root``, then :func:`extract_archive` into ``extract_root``."""
    download_root = os.path.expanduser(download_root)
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root or download_root, remove_finished)


def iterable_to_str(iterable: Iterable[Any]) -> str:
    return "'" + "', '".join(str(item) for item in iterable) + "'"


def verify_str_arg(value: Any, arg: str | None = None, valid_values: Iterable[Any] | None = None,
                   custom_msg: str | None = None) -> Any:
    """Return ``value`` if it is a str among ``valid_values``; raise ValueError (torchvision's texts) if not."""
    if not isinstance(value, str):
        where = "" if arg is None else f" for argument {arg}"
        raise ValueError(f"Expected type str{where}, but got type {type(value)}.")
    if valid_values is not None and value not in valid_values:
        raise ValueError(custom_msg if custom_msg is not None else
                         f"Unknown value '{value}' for argument {arg}. "
                         f"Valid values are {{{iterable_to_str(valid_values)}}}.")
    return value
