"""The ``data`` sub-command: ``data import cifar10 ARCHIVE`` and ``data fetch cifar10``.

``register(subparsers)`` adds ``data`` to the main parser; its handlers raise :class:`CliError`
(one line, exit 2) for anything a user can fix, and leave no file behind when they fail.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from descent_engine.network import cifar

from .common import CliError, Progress, atomic_output, check_writable

DATASETS = ("cifar10",)
TIMEOUT = 30.0  # seconds without data before a download gives up
MAX_DOWNLOAD = 2 * cifar.ARCHIVE_BYTES  # refuse anything much larger than the official archive
CHUNK = 1 << 20

SPLIT_HELP = (
    "The course's preprocessing (CS231n get_CIFAR10_data): training images 1..49,000 of the 50,000 "
    "become X_train, the last 1,000 X_val; the mean image of X_train is subtracted from every split; "
    "each image stays channel-major (R, G, B planes of 32x32, row by row) flattened to 3,072 float32 "
    "features. The 10,000 test images are written too, as X_test, y_test (the same mean subtracted); "
    "also mean_image and label_names. Labels are int64 0..9. About 750 MB."
)


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``data`` (with ``import`` and ``fetch``) to an argparse sub-parser object."""
    data = subparsers.add_parser("data", help="import or download a dataset for --dataset FILE.npz",
                                 description="Turn a published dataset into the .npz that train --dataset reads.")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="read a downloaded archive (cifar10: cifar-10-binary.tar.gz)",
                         description="Read the official binary archive cifar-10-binary.tar.gz (never the python "
                                     "pickle version) and write FILE.npz. " + SPLIT_HELP)
    imp.add_argument("name", choices=DATASETS, help="which dataset")
    imp.add_argument("archive", metavar="ARCHIVE", help="the downloaded cifar-10-binary.tar.gz")
    _add_output_arguments(imp)
    imp.set_defaults(handler=import_command)
    fetch = sub.add_parser("fetch", help="download the official archive, check its MD5, then import it",
                           description=f"Download {cifar.URL}, check its published MD5 ({cifar.MD5}), import it "
                                       "as 'data import' does and delete the download (unless --keep-archive). "
                                       + SPLIT_HELP)
    fetch.add_argument("name", choices=DATASETS, help="which dataset")
    _add_output_arguments(fetch)
    fetch.add_argument("--keep-archive", metavar="PATH", default=None,
                       help="keep the checked download at PATH (default: delete it)")
    fetch.add_argument("--url", default=cifar.URL, help="download address (default the official one)")
    fetch.add_argument("--md5", default=cifar.MD5, metavar="HEX",
                       help="expected MD5 of the download (default the published one of the binary version)")
    fetch.set_defaults(handler=fetch_command)
    return data


def _add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="FILE.npz", help="output file (X_train, y_train, X_val, y_val, ...)")
    p.add_argument("--num-train", type=int, default=None, metavar="N",
                   help="training images (default: all but the validation ones, 49,000)")
    p.add_argument("--num-val", type=int, default=cifar.NUM_VAL, metavar="N",
                   help=f"validation images, the ones after the training ones (default {cifar.NUM_VAL:,})")
    p.add_argument("--num-test", type=int, default=None, metavar="N",
                   help="test images to keep as X_test, y_test (default all 10,000; 0 leaves them out)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _check_out(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    if out.suffix != ".npz":
        raise CliError(f"--out {cifar.short(out)}: the file name must end in .npz")
    check_writable(out)
    return out


def _sizes(args: argparse.Namespace) -> None:
    try:
        cifar.check_sizes(args.num_train, args.num_val, args.num_test, cifar.RECORDS_PER_BATCH)
    except cifar.CifarError as exc:
        raise CliError(str(exc)) from None


def _import(archive: Path, out: Path, args: argparse.Namespace) -> None:
    bar = Progress(1, "import")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    try:
        data = cifar.read_cifar10(archive, num_train=args.num_train, num_val=args.num_val,
                                  num_test=args.num_test, records_per_batch=cifar.RECORDS_PER_BATCH,
                                  progress=progress)
    except cifar.CifarError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    try:
        with atomic_output(out, "wb") as fh:
            cifar.save_npz(data, fh)
    except OSError as exc:  # e.g. the disk fills while writing (the partial file is removed)
        raise CliError(f"cannot write {cifar.short(out)}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(f"{data.describe()}; wrote {out}", flush=True)


def import_command(args: argparse.Namespace) -> int:
    out = _check_out(args)
    _sizes(args)
    _import(Path(args.archive), out, args)
    return 0


# ---------------------------------------------------------------------------------------------
def fetch_command(args: argparse.Namespace) -> int:
    out = _check_out(args)
    _sizes(args)
    expected = args.md5.strip().lower()
    if len(expected) != 32 or any(c not in "0123456789abcdef" for c in expected):
        raise CliError(f"--md5 {cifar.short(args.md5)}: expected 32 hexadecimal digits")
    keep = Path(args.keep_archive) if args.keep_archive else None
    if keep is not None:
        check_writable(keep)
        if keep.resolve() == out.resolve():
            raise CliError("--keep-archive and --out name the same file")
    directory = out.parent if str(out.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=".cifar-10-binary.", suffix=".tar.gz.part", dir=directory)
    except OSError as exc:
        raise CliError(f"cannot write in {cifar.short(directory)}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            digest = download(args.url, fh)
        if digest != expected:
            raise CliError(f"the download from {cifar.short(args.url)} has MD5 {digest}, expected {expected} "
                           "(damaged or not the official archive); nothing kept")
        archive = tmp
        if keep is not None:
            try:
                shutil.move(str(tmp), str(keep))
            except OSError as exc:
                raise CliError(f"cannot keep the archive as {cifar.short(keep)}: {exc.strerror or exc}") from None
            archive = keep
            if not args.quiet:
                print(f"kept the checked archive as {keep}", flush=True)
        _import(archive, out, args)
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    return 0


def download(url: str, fh) -> str:
    """Copy ``url`` into ``fh`` with a progress bar; return the MD5 (hex) of what arrived."""
    where = cifar.short(url)
    if not url.lower().startswith(("https://", "http://")):
        raise CliError(f"--url {where}: expected an http:// or https:// address")
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        opener = urllib.request.build_opener()  # reads the proxy settings of the environment now
        with opener.open(url, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            size = int(length) if length and length.isdigit() else None
            if size is not None and size > MAX_DOWNLOAD:
                raise CliError(f"{where} offers {size:,} bytes; the CIFAR-10 binary archive is "
                               f"{cifar.ARCHIVE_BYTES:,}: refused")
            bar = Progress(size or cifar.ARCHIVE_BYTES, "download")
            got = 0
            try:
                while chunk := response.read(CHUNK):
                    got += len(chunk)
                    if got > MAX_DOWNLOAD:
                        raise CliError(f"{where} sends more than {MAX_DOWNLOAD:,} bytes: refused")
                    md5.update(chunk)
                    fh.write(chunk)
                    bar.update(got)
            finally:
                bar.close()
            if size is not None and got != size:
                raise CliError(f"the download from {where} ended after {got:,} of {size:,} bytes; try again")
    except urllib.error.HTTPError as exc:
        raise CliError(f"cannot download {where}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot download {where}: {cifar.short(reason)} (no network? download "
                       "cifar-10-binary.tar.gz yourself, then: descent-tui data import cifar10 ARCHIVE "
                       "--out FILE.npz)") from None
    except OSError as exc:
        raise CliError(f"cannot download {where}: {exc.strerror or exc}") from None
    return md5.hexdigest()
