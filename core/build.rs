//! The console's admin pages are embedded with `include_dir!`, which cannot tell cargo which files it
//! read: rebuild when anything under `assets/` changes, so a test never serves a stale page.

fn main() {
    println!("cargo:rerun-if-changed=assets");
}
