//! gNMI Set values from arbitrary protobuf bytes (a `TypedValue`, as a client sends it):
//! every scalar kind, JSON and JSON_IETF documents (strictly checked), leaf-lists,
//! decimals, NULs. Refusals are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nectar_gnmi::proto::gnmi as pb;
use nectar_gnmi::value::set_value;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = pb::TypedValue::decode(data) {
        let _ = set_value(Some(&v));
    }
});
