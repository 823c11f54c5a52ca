//! The model set compiles in libyang: every management and network module the
//! issue lists is implemented with the standard text from the pinned wheels.

use nectar_yang::models::{MANAGEMENT, NETWORK, embedded};
use nectar_yang::{Family, ModelSet};

#[test]
fn full_model_set_loads_and_implements_every_listed_module() {
    let ctx = ModelSet::management()
        .with(NETWORK)
        .build()
        .expect("context");
    for spec in MANAGEMENT.iter().chain(NETWORK) {
        let m = ctx
            .get_module_implemented(spec.name)
            .unwrap_or_else(|| panic!("{} not implemented", spec.name));
        assert_eq!(m.name(), spec.name);
    }
    // The standard ones come from the wheels, not from this repository.
    assert_eq!(embedded("ietf-interfaces").unwrap().family, Family::Ietf);
    assert_eq!(
        embedded("ietf-interfaces").unwrap().revision,
        Some("2018-02-20")
    );
    assert_eq!(
        embedded("openconfig-acl").unwrap().family,
        Family::OpenConfig
    );
    assert_eq!(embedded("nectar-mgmt").unwrap().family, Family::Nectar);
}

#[test]
fn management_set_does_not_implement_network_models() {
    let ctx = ModelSet::management().build().expect("context");
    assert!(ctx.get_module_implemented("ietf-netconf-acm").is_some());
    assert!(ctx.get_module_implemented("ietf-interfaces").is_none());
    assert!(
        ctx.get_module_implemented("openconfig-interfaces")
            .is_none()
    );
}

#[test]
fn unknown_module_is_a_clear_error() {
    let err = ModelSet::new()
        .with(&[nectar_yang::ModuleSpec::new("no-such-module", &[])])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no-such-module"), "{err}");
}
