//! Generates the gNMI 0.10 and gNOI (System, Healthz, File) server and client code
//! from `proto/` with the
//! protoc binary of `protoc-bin-vendored`, so no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // Key maps in a stable order: paths print and compare deterministically.
    config.btree_map(["."]);
    // Paths are map keys (shared Notification prefixes).
    config.type_attribute(".gnmi.Path", "#[derive(Eq, Hash)]");
    config.type_attribute(".gnmi.PathElem", "#[derive(Eq, Hash)]");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_with_config(
            config,
            &[
                std::path::PathBuf::from("proto/gnmi.proto"),
                std::path::PathBuf::from("proto/gnmi_ext.proto"),
                std::path::PathBuf::from("proto/gnoi/system/system.proto"),
                std::path::PathBuf::from("proto/gnoi/healthz/healthz.proto"),
                std::path::PathBuf::from("proto/gnoi/file/file.proto"),
            ],
            &[std::path::PathBuf::from("proto"), well_known],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
