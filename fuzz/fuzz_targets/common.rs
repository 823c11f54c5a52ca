//! The model set the targets share (built once per process, as the daemon builds it).

use std::sync::OnceLock;

use yang2::context::Context;

pub fn ctx() -> &'static Context {
    static CTX: OnceLock<&'static Context> = OnceLock::new();
    CTX.get_or_init(|| {
        nectar_yang::ModelSet::management()
            .with(nectar_yang::models::NETWORK)
            .with(nectar_yang::models::DEVIATIONS)
            .with(nectar_yang::models::TELEMETRY)
            .build()
            .expect("model set")
    })
}
