//! Generates bindings to the system DPDK with bindgen (found through pkg-config) and
//! compiles the C wrappers bindgen writes for DPDK's static inline functions
//! (`rte_eth_rx_burst`, `rte_eth_tx_burst`, `rte_pktmbuf_alloc`, ...).
//!
//! Where DPDK is not installed the crate still builds, empty, and says so through the
//! `nectar_dpdk_missing` cfg and the `AVAILABLE` constant: the workspace builds on any
//! machine, and only the dataplane's `dpdk` feature needs `libdpdk-dev`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nectar_dpdk_missing)");
    println!("cargo::rerun-if-changed=wrapper.h");
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let lib = match pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => {
            println!(
                "cargo::warning=DPDK not found through pkg-config ({e}); nectar-dpdk-sys builds empty (apt install libdpdk-dev libclang-dev)"
            );
            println!("cargo::rustc-cfg=nectar_dpdk_missing");
            std::fs::write(out.join("bindings.rs"), "").expect("write empty bindings");
            return;
        }
    };
    // pkg-config's cflags besides include paths: `-include rte_config.h`, `-march=...`.
    let cflags = pkg_config::get_variable("libdpdk", "cflags").unwrap_or_default();
    let mut extra: Vec<String> = Vec::new();
    let probe = std::process::Command::new("pkg-config")
        .args(["--cflags-only-other", "libdpdk"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or(cflags);
    let mut it = probe.split_whitespace();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                extra.push("-include".into());
                extra.push(h.into());
            }
        } else {
            extra.push(f.into());
        }
    }
    let includes: Vec<String> = lib
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();
    let wrap = out.join("static_fns");
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(includes.iter().chain(extra.iter()))
        .rust_edition(bindgen::RustEdition::Edition2024)
        .allowlist_function("rte_eal_init")
        .allowlist_function("rte_eal_cleanup")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_eal_hotplug_add")
        .allowlist_function("rte_eal_hotplug_remove")
        .allowlist_function("rte_eth_dev_.*")
        .allowlist_function("rte_eth_rx_.*")
        .allowlist_function("rte_eth_tx_.*")
        .allowlist_function("rte_eth_macaddr_get")
        .allowlist_function("rte_eth_promiscuous_enable")
        .allowlist_function("rte_eth_stats_get")
        .allowlist_function("rte_pktmbuf_pool_create")
        .allowlist_function("rte_pktmbuf_alloc")
        .allowlist_function("rte_pktmbuf_alloc_bulk")
        .allowlist_function("rte_pktmbuf_free")
        .allowlist_function("rte_pktmbuf_free_bulk")
        .allowlist_function("rte_pktmbuf_append")
        .allowlist_function("rte_mempool_free")
        .allowlist_function("rte_mempool_avail_count")
        .allowlist_function("nectar_.*")
        .allowlist_var("RTE_ETH_.*")
        .allowlist_var("RTE_MBUF_DEFAULT_BUF_SIZE")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_gtp_psc_generic_hdr")
        .layout_tests(false)
        .derive_default(true)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrap)
        .generate()
        .expect("bindgen on the DPDK headers");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings");
    let mut cc = cc::Build::new();
    cc.file(wrap.with_extension("c"))
        .include(env!("CARGO_MANIFEST_DIR"))
        .includes(&lib.include_paths)
        .warnings(false);
    for f in &extra {
        cc.flag(f);
    }
    cc.compile("nectar_dpdk_static_fns");
}
