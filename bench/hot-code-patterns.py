"""Input-section patterns for deploy/kubeseal-hot-code.ld (bench/hot-code-order.sh runs this).

Arguments: a file of the function names a traced run executed (one per line, mangled) and the
linker map (lld -Map, --no-demangle) of the binary that ran. The map says which input section
holds each function: its own section (Rust, and C built with one section per function), or a
section an object shares among its functions (assembly, glibc). Prints one pattern per line.

The patterns leave out what changes with the toolchain and each dependency's version (symbol
hashes, crate disambiguators, the hash that prefixes object names inside Rust libraries), so
that a pattern keeps matching its function across upgrades.
"""

import re
import sys


def read_homes(map_path):
    """Symbol name -> (object, input section), for symbols in executable sections."""
    homes = {}
    current = None
    for line in open(map_path):
        fields = line.split(None, 4)
        if len(fields) < 5:
            current = None
            continue
        rest = fields[4].strip()
        section = re.match(r"^(\S+):\((\.text[^)]*)\)$", rest)
        if section:
            current = (section.group(1), section.group(2))
        elif ":(" in rest or rest.startswith("."):
            current = None  # another kind of input section, or an output section
        elif current and " " not in rest:
            homes.setdefault(rest, current)
    return homes


def hash_free(name):
    if name.startswith("_ZN"):
        # Legacy mangling ends in 17h<16 hex digits>E: the hash.
        name = re.sub(r"17h[0-9a-f]{16}E$", "17h*", name)
    elif name.startswith("_R"):
        # v0 mangling: crate disambiguators (Cs<base62>_) change with the toolchain.
        name = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
    return re.sub(r"\.(llvm|constprop|part|isra|cold)\.[0-9]+", "*", name)


def pattern(name, obj, section):
    if section.endswith("." + name):
        glob = hash_free(name)
        if re.search(r"[^A-Za-z0-9_$.*]", glob):
            return None  # not expressible in a linker-script pattern; rare
        # LLVM may put a function under .text.unlikely. or .text.startup. as well as .text.
        return f"*(.text.{glob} .text.*.{glob})"
    member = re.match(r"^.*/([^/(]+)\(([^)]+)\)$", obj)
    if not member:
        return None
    archive, member = member.groups()
    member = re.sub(r"^[0-9a-f]{16}-", "*-", member)
    libc = re.match(r"^lib(c|m)(-[0-9.]+)?\.a$", archive)
    if libc:
        # glibc picks a variant of a function (memmove-avx-..., memmove-evex-...) for the CPU
        # at start, and the traced run's CPU may not be the one that runs it: take them all.
        member = re.sub(r"^([a-z_0-9]+)[-.].*$", r"\1*.o", member)
        return f"*lib{libc.group(1)}*.a:{member}(.text .text.*)"
    # Assembly objects hold every CPU variant of their functions in one section.
    return f"*:{member}(.text .text.*)"


def main():
    functions = [line.rstrip("\n") for line in open(sys.argv[1])]
    homes = read_homes(sys.argv[2])
    seen = set()
    for name in functions:
        if name not in homes:
            continue  # not in kubeseal's code (valgrind's own, say)
        p = pattern(name, *homes[name])
        if p and p not in seen:
            seen.add(p)
            print("    " + p)


main()
