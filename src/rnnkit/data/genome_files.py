"""The real DNA that rnnkit's genome data sets are built from: files shipped in Debian packages,
pinned by path and SHA-256 (nothing is downloaded).

    apt-get install python-biopython-doc emboss-test

- `chloroplast`: the Arabidopsis thaliana chloroplast genome, NC_000932 (154,478 bp, 85 annotated
  CDS), from Biopython's test files (python-biopython-doc 1.80+dfsg-4).
- `primates`: 18 primate GenBank entries from EMBOSS's test database (emboss-test
  6.6.0+dfsg-12), among them 2.2 Mb of the human MHC region (BA000025) with its genes' exons.
- `plasmid` / `plasmid-cds`: the Yersinia pestis plasmid pPCP1 (NC_005816) as FASTA, and its
  coding sequences as FASTA, and its GenBank file (`plasmid-gb`): the readers are checked
  against each other on the same entry.

A missing package or a file whose checksum differs is one line saying what to install.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from rnnkit.errors import DataError

_BIO = "/usr/share/doc/python-biopython-doc/Tests/GenBank"
# name -> (Debian package, path, sha256)
FILES = {
    "chloroplast": ("python-biopython-doc", f"{_BIO}/NC_000932.gb.gz",
                    "db062285e2e4c9d40427b9c8199b1fda9e8ec194fb80ec02ea73705b8627383f"),
    "primates": ("emboss-test", "/usr/share/EMBOSS/test/genbank/gbpri1.seq",
                 "b42af44bd23cf6e9ff295d499d6998ac132c8f2e171cb3f3f22a4282390b0b80"),
    "plasmid": ("python-biopython-doc", f"{_BIO}/NC_005816.fna.gz",
                "0d930392ba976a8fe2c8ed01cfd148e0755e2bdcf9472be02138cd524e3672b7"),
    "plasmid-cds": ("python-biopython-doc", f"{_BIO}/NC_005816.ffn.gz",
                    "32885f24f4f298daadb2f534596cfcd3cecaf653d44b3eaf9b8f60df7f927833"),
    "plasmid-gb": ("python-biopython-doc", f"{_BIO}/NC_005816.gb.gz",
                   "c1911c82e240ce029b38721f6dd3eb6867ec5775d7853d0837548ac996691975"),
}


@cache
def _sha256(path: str, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pinned_path(name: str) -> Path:
    """The path of pinned file `name`, checked to exist and to have its pinned checksum."""
    package, path, digest = FILES[name]
    p = Path(path)
    if not p.is_file():
        raise DataError(f"genome data {name!r} needs the Debian package {package} ({path} is "
                        f"missing): apt-get install {package}")
    found = _sha256(str(p), p.stat().st_mtime_ns)
    if found != digest:
        raise DataError(f"genome data {name!r}: {path} differs from the pinned file (sha256 "
                        f"{found[:12]}..., expected {digest[:12]}...); rnnkit is pinned to "
                        f"{package} as its docstring says")
    return p
