"""The dynamic section of an ELF shared library, read with the standard library.

Which cuDNN, NCCL or BLAS a framework loads is decided by the loader from the
library's ``DT_NEEDED`` names and its ``DT_RPATH``/``DT_RUNPATH`` search paths
(conda builds point them at ``$PREFIX/lib``, pip wheels at ``nvidia/*/lib``).
Reading those few entries answers the question without loading or executing
anything: only the ELF header, the program headers, the dynamic entries and the
strings they name are read, never a whole (often multi-GB) file.
"""

from __future__ import annotations

import os
import struct

from ._common import open_fd

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, List, Optional, Tuple

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 15, 29
_MAX_PROGRAM_HEADERS = 512
_MAX_DYNAMIC_ENTRIES = 4096
_MAX_STRING = 4096


class NotELF(ValueError):
    """The file is not an ELF object this reader understands."""


def _pread(fd: int, size: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    data = os.read(fd, size)
    if len(data) != size:
        raise NotELF("truncated at offset %d" % offset)
    return data


def _string(fd: int, offset: int) -> str:
    os.lseek(fd, offset, os.SEEK_SET)
    data = os.read(fd, _MAX_STRING)
    end = data.find(b"\0")
    return (data if end < 0 else data[:end]).decode("utf-8", "replace")


def dynamic_entries(path: str) -> Dict[str, List[str]]:
    """``{"needed": [...], "rpath": [...], "runpath": [...]}`` of an ELF shared object."""
    fd = open_fd(path)
    try:
        return _dynamic_entries(fd)
    finally:
        os.close(fd)


def _dynamic_entries(fd: int) -> Dict[str, List[str]]:
    ident = _pread(fd, 16, 0)
    if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise NotELF("not an ELF file")
    wide = ident[4] == 2
    order = "<" if ident[5] == 1 else ">"
    if wide:
        phoff, = struct.unpack(order + "Q", _pread(fd, 8, 32))
        phentsize, phnum = struct.unpack(order + "HH", _pread(fd, 4, 54))
        phdr, dyn = order + "IIQQQQQQ", order + "qQ"
    else:
        phoff, = struct.unpack(order + "I", _pread(fd, 4, 28))
        phentsize, phnum = struct.unpack(order + "HH", _pread(fd, 4, 42))
        phdr, dyn = order + "IIIIIIII", order + "iI"
    if phnum > _MAX_PROGRAM_HEADERS or phentsize < struct.calcsize(phdr):
        raise NotELF("implausible program header table")
    loads: List[Tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    dynamic: Optional[Tuple[int, int]] = None  # (offset, size)
    for index in range(phnum):
        fields = struct.unpack(phdr, _pread(fd, struct.calcsize(phdr), phoff + index * phentsize))
        if wide:
            kind, _, offset, vaddr, _, filesz = fields[:6]
        else:
            kind, offset, vaddr, _, filesz = fields[:5]
        if kind == PT_LOAD:
            loads.append((vaddr, filesz, offset))
        elif kind == PT_DYNAMIC:
            dynamic = (offset, filesz)
    result: Dict[str, List[str]] = {"needed": [], "rpath": [], "runpath": []}
    if dynamic is None:
        return result  # a static executable or an object file
    entry_size = struct.calcsize(dyn)
    count = min(dynamic[1] // entry_size, _MAX_DYNAMIC_ENTRIES)
    table = _pread(fd, count * entry_size, dynamic[0])
    strings: List[Tuple[int, int]] = []
    strtab = None
    for index in range(count):
        tag, value = struct.unpack_from(dyn, table, index * entry_size)
        if tag == DT_NULL:
            break
        if tag == DT_STRTAB:
            strtab = value
        elif tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH):
            strings.append((tag, value))
    if strtab is None:
        return result
    # DT_STRTAB is an address: the PT_LOAD segment holding it maps it to a file offset.
    base = next((offset + strtab - vaddr for vaddr, size, offset in loads
                 if vaddr <= strtab < vaddr + size), None)
    if base is None:
        raise NotELF("string table outside every loaded segment")
    names = {DT_NEEDED: "needed", DT_RPATH: "rpath", DT_RUNPATH: "runpath"}
    for tag, value in strings:
        text = _string(fd, base + value)
        if tag == DT_NEEDED:
            result["needed"].append(text)
        else:
            result[names[tag]].extend(part for part in text.split(":") if part)
    return result


def expand_origin(directory: str, library: str) -> str:
    """``$ORIGIN`` (and ``${ORIGIN}``) in a search path is the library's own directory."""
    origin = os.path.dirname(os.path.abspath(library))
    return os.path.normpath(directory.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
