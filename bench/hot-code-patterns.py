"""The SECTIONS of deploy/kubeseal-hot-code.ld (bench/hot-code-order.sh runs this).

Arguments: the linker map (lld -Map, --no-demangle) of a kubeseal build, a file of the
instruction addresses traced sealing runs of that build executed, and a file of the read-only
data addresses they read, each in the order first used. Prints two output sections:
`.text.hot` with the code those runs executed and `.rodata.hot` with the constants they read,
each input section once, in the order first used, so that a run goes front to back through a
few pages instead of faulting in pages all over the binary.

A pattern names its section without what changes with the toolchain and each dependency's
version (symbol hashes, crate disambiguators, the hashes in the names of objects inside Rust
libraries) when that name is still unique in the build, so that it keeps matching across
upgrades. A generic function's instances, and the anonymous constants rustc numbers, can only
be named exactly: those names hold while the toolchain and the dependencies stay the same.
"""

import bisect
import re
import sys

# LLVM puts a function in .text.NAME, or under one of these prefixes.
TEXT_PREFIXES = (".text.unlikely.", ".text.startup.", ".text.hot.", ".text.exit.", ".text.split.", ".text.")


def read_sections(map_path):
    """Input sections with bytes in them: sorted (address, size, object, section name)."""
    sections = []
    for line in open(map_path):
        fields = line.split(None, 4)
        if len(fields) < 5:
            continue
        found = re.match(r"^(\S+):\((\.[^)+]*)\)$", fields[4].strip())
        if found and int(fields[2], 16) > 0:
            sections.append((int(fields[0], 16), int(fields[2], 16), found.group(1), found.group(2)))
    sections.sort()
    return sections


def hash_free(name):
    if name.startswith("_ZN"):
        # Legacy mangling ends in 17h<16 hex digits>E: the hash.
        name = re.sub(r"17h[0-9a-f]{16}E$", "17h*", name)
    elif name.startswith("_R"):
        # v0 mangling: crate disambiguators (Cs<base62>_) change with the toolchain.
        name = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
    return re.sub(r"\.(llvm|constprop|part|isra|cold)\.[0-9]+", "*", name)


def function_name(section):
    for prefix in TEXT_PREFIXES:
        if section.startswith(prefix) and len(section) > len(prefix):
            return section[len(prefix):]
    return None


def symbol_name(section):
    """The symbol a per-symbol data section is named after: .rodata[.unlikely].NAME (a jump
    table, a named constant); None for rustc's numbered anonymous constants and for sections
    an object shares (.rodata, .rodata.cst16, .rodata.str1.1)."""
    found = re.match(r"^\.rodata\.(?:unlikely\.|hot\.)?(_ZN.*|_R.*)$", section)
    return found.group(1) if found else None


def object_pattern(obj, section):
    """A section an object shares among its symbols (assembly, glibc, C): name the object."""
    if obj.startswith("<"):
        return None  # made by the linker (merged strings): no object to name
    member = re.match(r"^.*/([^/(]+)\(([^)]+)\)$", obj)
    if member:
        archive, member = member.groups()
        member = re.sub(r"^[0-9a-f]{16}-", "*-", member)  # the hash Rust libraries prefix
        archive = re.sub(r"-[0-9a-f]{16}\.rlib$", "-*.rlib", archive)  # the crate's hash
        archive = re.sub(r"-[0-9.]+\.a$", "*.a", archive)  # libm-2.36.a
        return f"*{archive}:{member}({section})"
    name = re.sub(r"-[0-9a-f]{16}\.", "-*.", obj.rsplit("/", 1)[-1])  # a Rust crate's hash
    return f"*/{name}({section})"


def expressible(glob):
    return not re.search(r"[^A-Za-z0-9_$.*]", glob)


class Namer:
    def __init__(self, sections):
        # The symbols each hash-free name stands for: more than one means a generic function's
        # instances, which only their exact names tell apart.
        self.symbols = {}
        for _, _, _, section in sections:
            name = function_name(section) or symbol_name(section)
            if name:
                self.symbols.setdefault(hash_free(name), set()).add(name)

    def unique(self, name):
        glob = hash_free(name)
        return glob if len(self.symbols.get(glob, ())) == 1 else name

    def text(self, obj, section):
        name = function_name(section)
        if name is None:
            return object_pattern(obj, section)
        glob = self.unique(name)
        return f"*(.text.{glob} .text.*.{glob})" if expressible(glob) else None

    def rodata(self, obj, section):
        name = symbol_name(section)
        if name is not None:
            glob = self.unique(name)
            return f"*(.rodata.{glob} .rodata.*.{glob})" if expressible(glob) else None
        if section.startswith(".rodata..L"):
            return f"*({section})" if expressible(section) else None
        if section.startswith(".rodata"):
            return object_pattern(obj, section)
        return None  # .eh_frame and the like stay where the linker wants them


# A section this large is an object's code for every CPU (aws-lc's AVX-512 AES-GCM is 700 KB)
# of which a run executes a few pages: moving it would only push the rest apart.
LARGEST_SECTION = 128 * 1024


def patterns(sections, addresses_path, make):
    starts = [s[0] for s in sections]
    seen = set()
    for line in open(addresses_path):
        address = int(line, 16)
        i = bisect.bisect_right(starts, address) - 1
        if i < 0 or address >= sections[i][0] + sections[i][1]:
            continue  # made by the linker (PLT, thunks, headers)
        if sections[i][1] > LARGEST_SECTION:
            continue
        p = make(*sections[i][2:])
        if p and p not in seen:
            seen.add(p)
            yield p


def main():
    map_path, code_addresses, data_addresses = sys.argv[1:4]
    sections = read_sections(map_path)
    namer = Namer(sections)
    print("SECTIONS {")
    print("  .text.hot : {")
    for p in patterns(sections, code_addresses, namer.text):
        print("    " + p)
    print("  }")
    print("}")
    print("INSERT BEFORE .text;")
    print("SECTIONS {")
    print("  .rodata.hot : {")
    for p in patterns(sections, data_addresses, namer.rodata):
        print("    " + p)
    print("  }")
    print("}")
    print("INSERT BEFORE .rodata;")


main()
