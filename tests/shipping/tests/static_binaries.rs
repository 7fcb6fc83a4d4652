//! The shipped binaries are fully static x86_64 Linux executables: no ELF interpreter, so they
//! run from a `FROM scratch` image. The controller is position-independent (ASLR for the whole
//! image of a long-running server); `kubeseal` is linked at a fixed address, so that it starts
//! without relocating itself. Built by `deploy/build-static` (CI runs it first).

use std::path::PathBuf;
use std::process::Command;

const PT_INTERP: u32 = 3;
const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;
/// `e_type` of an executable linked at a fixed address.
const ET_EXEC: u16 = 2;
/// `e_type` of a position-independent executable (or a shared object).
const ET_DYN: u16 = 3;

/// `N` bytes of `elf` at offset `at`, or where the file ends too soon.
fn bytes_at<const N: usize>(elf: &[u8], at: usize) -> Result<[u8; N], String> {
    at.checked_add(N)
        .and_then(|end| elf.get(at..end))
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("truncated at {at}"))
}

fn u16_at(elf: &[u8], at: usize) -> Result<u16, String> {
    bytes_at(elf, at).map(u16::from_le_bytes)
}

fn u32_at(elf: &[u8], at: usize) -> Result<u32, String> {
    bytes_at(elf, at).map(u32::from_le_bytes)
}

fn u64_at(elf: &[u8], at: usize) -> Result<u64, String> {
    bytes_at(elf, at).map(u64::from_le_bytes)
}

/// A little-endian 64-bit offset or size, as an index into the file.
fn usize_at(elf: &[u8], at: usize) -> Result<usize, String> {
    usize::try_from(u64_at(elf, at)?).map_err(|e| e.to_string())
}

/// The ELF file type (`e_type`), or why the bytes are not an ELF file.
fn elf_type(elf: &[u8]) -> Result<u16, String> {
    if elf.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    u16_at(elf, 0x10)
}

/// The program header types of a little-endian ELF64 x86_64 executable, and its `DT_NEEDED`
/// count, or why the bytes are not one.
fn program_headers(elf: &[u8]) -> Result<(Vec<u32>, usize), String> {
    elf_type(elf)?;
    if elf[4] != 2 || elf[5] != 1 {
        return Err("not a little-endian 64-bit ELF".into());
    }
    const EM_X86_64: u16 = 62;
    if u16_at(elf, 0x12)? != EM_X86_64 {
        return Err("not x86_64".into());
    }
    let phoff = usize_at(elf, 0x20)?;
    let phentsize = usize::from(u16_at(elf, 0x36)?);
    let phnum = usize::from(u16_at(elf, 0x38)?);
    let mut types = Vec::new();
    let mut needed = 0;
    for i in 0..phnum {
        let header = phoff + i * phentsize;
        let kind = u32_at(elf, header)?;
        types.push(kind);
        if kind == PT_DYNAMIC {
            // Entries of (tag, value), 16 bytes each, up to DT_NULL.
            let offset = usize_at(elf, header + 8)?;
            let size = usize_at(elf, header + 32)?;
            for entry in (offset..offset + size).step_by(16) {
                match u64_at(elf, entry)? {
                    0 => break,
                    DT_NEEDED => needed += 1,
                    _ => {}
                }
            }
        }
    }
    Ok((types, needed))
}

/// The names and sizes of the sections of a little-endian ELF64 file.
fn sections(elf: &[u8]) -> Result<Vec<(String, u64)>, String> {
    elf_type(elf)?;
    let shoff = usize_at(elf, 0x28)?;
    let shentsize = usize::from(u16_at(elf, 0x3a)?);
    let shnum = usize::from(u16_at(elf, 0x3c)?);
    let names_header = shoff + usize::from(u16_at(elf, 0x3e)?) * shentsize;
    let names = usize_at(elf, names_header + 0x18)?;
    (0..shnum)
        .map(|i| {
            let header = shoff + i * shentsize;
            let start = names + usize::try_from(u32_at(elf, header)?).map_err(|e| e.to_string())?;
            let rest = elf.get(start..).ok_or("section name out of range")?;
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("unterminated name")?;
            let name = String::from_utf8_lossy(&rest[..len]).into_owned();
            Ok((name, u64_at(elf, header + 0x20)?))
        })
        .collect()
}

/// The bytes of a shipped binary.
fn shipped_elf(name: &str) -> Vec<u8> {
    std::fs::read(shipped(name)).unwrap()
}

fn shipped(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("SHIPPING_STATIC_DIR")).join(name);
    assert!(
        path.exists(),
        "{} is missing: run deploy/build-static first",
        path.display()
    );
    path
}

#[test]
fn program_header_parser_tells_a_dynamic_executable() {
    // This very test binary is built the ordinary way: dynamically linked, with an interpreter.
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let (types, needed) = program_headers(&me).unwrap();
    assert!(types.contains(&PT_INTERP), "{types:?}");
    assert!(needed > 0);
    assert!(program_headers(b"#!/bin/sh\n").is_err());
    assert!(program_headers(&me[..0x30]).is_err());
    // Cargo links test binaries as PIEs on this target.
    assert_eq!(elf_type(&me), Ok(ET_DYN));
    assert!(elf_type(b"#!/bin/sh\n").is_err());
    assert!(elf_type(&me[..0x11]).is_err());
    let names: Vec<String> = sections(&me).unwrap().into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().any(|n| n == ".text"), "{names:?}");
    assert!(!names.iter().any(|n| n == ".text.hot"), "{names:?}");
}

#[test]
#[cfg_attr(
    not(static_binaries),
    ignore = "static binaries not built: run deploy/build-static (CI does)"
)]
fn shipped_binaries_are_fully_static() {
    for name in ["kubeseal", "sealed-secrets-controller"] {
        let path = shipped(name);
        let elf = std::fs::read(&path).unwrap();
        let (types, needed) =
            program_headers(&elf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !types.contains(&PT_INTERP),
            "{name} has an ELF interpreter: it is dynamically linked"
        );
        assert_eq!(needed, 0, "{name} needs shared libraries");
    }
}

#[test]
#[cfg_attr(
    not(static_binaries),
    ignore = "static binaries not built: run deploy/build-static (CI does)"
)]
fn controller_is_position_independent_and_kubeseal_is_not() {
    let controller = shipped_elf("sealed-secrets-controller");
    assert_eq!(
        elf_type(&controller),
        Ok(ET_DYN),
        "the controller must be a static PIE, so that its image is randomised"
    );
    let kubeseal = shipped_elf("kubeseal");
    assert_eq!(
        elf_type(&kubeseal),
        Ok(ET_EXEC),
        "kubeseal must be linked at a fixed address: a static PIE relocates itself at every start"
    );
}

#[test]
#[cfg_attr(
    not(static_binaries),
    ignore = "static binaries not built: run deploy/build-static (CI does)"
)]
fn kubeseal_keeps_the_code_and_constants_of_a_sealing_run_together() {
    // deploy/kubeseal-hot-code.ld gathers each into its own section, before the rest. A sealing
    // run executes about a megabyte of code; far less means the script's names no longer match
    // the build (a toolchain or dependency upgrade): rerun bench/hot-code-order.sh.
    let kubeseal = shipped_elf("kubeseal");
    let sections = sections(&kubeseal).unwrap();
    let position = |name: &str| sections.iter().position(|(n, _)| n == name);
    for (hot, rest, least) in [
        (".text.hot", ".text", 500_000),
        (".rodata.hot", ".rodata", 16_000),
    ] {
        let at = position(hot).unwrap_or_else(|| panic!("kubeseal has no {hot} section"));
        assert!(
            sections[at].1 > least,
            "{hot} holds only {} bytes: rerun bench/hot-code-order.sh",
            sections[at].1
        );
        assert!(at < position(rest).unwrap(), "{hot} is not before {rest}");
    }
}

#[test]
#[cfg_attr(
    not(static_binaries),
    ignore = "static binaries not built: run deploy/build-static (CI does)"
)]
fn shipped_binaries_run() {
    let kubeseal = Command::new(shipped("kubeseal"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(kubeseal.status.success(), "{kubeseal:?}");
    assert!(String::from_utf8_lossy(&kubeseal.stdout).contains("kubeseal version"));
    let controller = Command::new(shipped("sealed-secrets-controller"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(controller.status.success(), "{controller:?}");
}
