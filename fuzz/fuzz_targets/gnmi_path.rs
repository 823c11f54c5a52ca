//! gNMI paths from arbitrary protobuf bytes (a `Path` message, as a client sends it) through
//! the whole translation: protobuf → neutral path → joined with a prefix and resolved →
//! XPath and libyang data path against nectar's model set, and back to a gNMI path. Every
//! step may refuse; none may panic.
#![no_main]

mod common;

use common::ctx;
use libfuzzer_sys::fuzz_target;
use nectar_gnmi::path::{from_proto, resolve};
use nectar_gnmi::proto::gnmi as pb;
use nectar_yang::path::{DataPath, gnmi_to_xpath};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = pb::Path::decode(data) else {
        return;
    };
    let Ok(path) = from_proto(&p) else { return };
    let ctx = ctx();
    let Ok(full) = resolve(ctx, None, &path) else {
        return;
    };
    let _ = gnmi_to_xpath(ctx, None, &full);
    if let Ok(dp) = DataPath::from_gnmi(ctx, &full) {
        let _ = dp.to_xpath();
        let _ = dp.to_uri();
        let _ = dp.to_gnmi();
        let _ = dp.schema_node(ctx);
    }
});
