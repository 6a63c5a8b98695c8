//! Compiles the shim when libsrtp2's headers are installed; otherwise the crate says it is
//! unavailable (tests then skip, except under CI).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(libsrtp2)");
    println!("cargo::rerun-if-changed=shim.c");
    if std::path::Path::new("/usr/include/srtp2/srtp.h").exists() {
        cc::Build::new().file("shim.c").compile("weft_libsrtp_shim");
        println!("cargo::rustc-link-lib=srtp2");
        println!("cargo::rustc-cfg=libsrtp2");
    }
}
