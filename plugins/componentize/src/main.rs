//! `componentize <module.wasm> <component.wasm> [<module.wasm> <component.wasm> …]`: wraps core wasm modules
//! built against natter-sdk into WebAssembly components, as `wasm-tools component new` would.
//!
//! The WIT world comes from the `component-type` custom section wit-bindgen left in the module, so the tool
//! needs no WIT files of its own. Plugins import nothing from WASI, so no adapter is involved.

use anyhow::{Context, Result, bail, ensure};

/// The preamble of a component (version 0x0d, layer 1), as opposed to a core module's `00 61 73 6d 01 00 00 00`.
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || !args.len().is_multiple_of(2) {
        bail!(
            "usage: componentize <module.wasm> <component.wasm> [<module.wasm> <component.wasm> …]"
        );
    }
    for pair in args.chunks(2) {
        let [input, output] = pair else {
            unreachable!("chunks of two")
        };
        componentize(input, output).with_context(|| format!("componentizing {input}"))?;
    }
    Ok(())
}

fn componentize(input: &str, output: &str) -> Result<()> {
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()?;
    ensure!(
        component.starts_with(&COMPONENT_PREAMBLE),
        "the encoder did not produce a component"
    );
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    Ok(())
}
